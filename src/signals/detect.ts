/**
 * Is the TimeSeries module on this server? Asked once per connection, at connect time.
 *
 * `TS.INFO` on a key that does not exist answers "ERR unknown command" without the module and a
 * TSDB error with it. Only when that probe is refused for another reason (an ACL, say) do we ask
 * `MODULE LIST`, which managed services often disable. A connection problem leaves the answer open.
 */
import type { Redis } from 'ioredis';
import { describeError, isReplyError } from './redis-errors';

export type ProbeResult =
  | { readonly outcome: 'present' }
  | { readonly outcome: 'absent'; readonly detail: string }
  | { readonly outcome: 'unknown'; readonly detail: string };

const PROBE_KEY = 'tailslide:probe:no-such-series';

export async function probeTimeSeries(client: Redis): Promise<ProbeResult> {
  try {
    await client.call('TS.INFO', PROBE_KEY);
    return { outcome: 'present' };
  } catch (error) {
    if (!isReplyError(error)) return { outcome: 'unknown', detail: describeError(error) };
    if (/unknown command/i.test(error.message))
      return { outcome: 'absent', detail: 'the server does not know TS.INFO' };
    if (/TSDB|does not exist/i.test(error.message)) return { outcome: 'present' };
    return probeModuleList(client, error.message);
  }
}

async function probeModuleList(client: Redis, probeError: string): Promise<ProbeResult> {
  try {
    const reply = await client.call('MODULE', 'LIST');
    return hasTimeSeries(reply)
      ? { outcome: 'present' }
      : { outcome: 'absent', detail: `TS.INFO refused (${probeError}) and MODULE LIST lists no timeseries` };
  } catch (error) {
    if (!isReplyError(error)) return { outcome: 'unknown', detail: describeError(error) };
    return { outcome: 'absent', detail: `TS.INFO refused (${probeError}), MODULE LIST refused (${error.message})` };
  }
}

/** MODULE LIST answers an array of [name, <name>, ver, <n>, …] arrays (or maps under RESP3). */
function hasTimeSeries(reply: unknown): boolean {
  const text = JSON.stringify(reply ?? null).toLowerCase();
  return text.includes('"timeseries"');
}
