/**
 * Reading the counts the breaker decides on, one app per call, each flag over its own window
 * (`fromMs` to `toMs`, both inclusive; a second counts when it overlaps the window).
 *
 * - TimeSeries: ONE `TS.MRANGE <from> <to> AGGREGATION SUM 1000 FILTER appId=<id>` per app and
 *   poll, from the earliest window start; each flag then sums the one-second buckets of its own
 *   window. Buckets are aligned to the epoch, the module's default since 1.4, so no `ALIGN` is
 *   needed (module 1.4 does not know it) and AGGREGATION comes before FILTER, as 1.4 requires. No
 *   WITHLABELS: the keys (`<flagId>:success` / `<flagId>:failure`) say all we need.
 * - Native: through `SignalReader`: one `appCounts` (pipelined) for the flags whose window is the
 *   plain one, and one `flagCounts` per flag whose window was cut short by a recent transition.
 */
import type { Redis } from 'ioredis';
import type { SignalReader } from '../signals/reader';
import { SIGNAL_RESOLUTION_MS, type Counts } from './decide';

export interface FlagWindow {
  readonly flagId: number;
  readonly fromMs: number;
}

export interface BreakerSignals {
  readonly backend: 'timeseries' | 'native';
  /** Counts per flag id (every requested flag present). Rejects when Redis cannot answer. */
  counts(appId: number, flags: readonly FlagWindow[], toMs: number): Promise<Map<number, Counts>>;
}

export class TimeSeriesSignals implements BreakerSignals {
  readonly backend = 'timeseries' as const;

  constructor(private readonly client: Redis) {}

  async counts(appId: number, flags: readonly FlagWindow[], toMs: number): Promise<Map<number, Counts>> {
    const out = new Map<number, Counts>();
    if (flags.length === 0) return out;
    const fromMs = Math.min(...flags.map((f) => f.fromMs));
    const reply = await this.client.call(
      'TS.MRANGE',
      String(floorTo(fromMs, SIGNAL_RESOLUTION_MS)),
      String(toMs),
      'AGGREGATION',
      'SUM',
      String(SIGNAL_RESOLUTION_MS),
      'FILTER',
      `appId=${appId}`,
    );
    const buckets = parseMrange(reply);
    for (const { flagId, fromMs: flagFrom } of flags) {
      const counts = { success: 0, failure: 0 };
      for (const status of ['success', 'failure'] as const) {
        for (const [startMs, value] of buckets.get(`${flagId}:${status}`) ?? []) {
          if (startMs + SIGNAL_RESOLUTION_MS - 1 >= flagFrom && startMs <= toMs) counts[status] += value;
        }
      }
      out.set(flagId, counts);
    }
    return out;
  }
}

export class NativeSignals implements BreakerSignals {
  readonly backend = 'native' as const;

  constructor(
    private readonly reader: SignalReader,
    private readonly windowMs: number,
  ) {}

  async counts(appId: number, flags: readonly FlagWindow[], toMs: number): Promise<Map<number, Counts>> {
    const out = new Map<number, Counts>();
    if (flags.length === 0) return out;
    const plainFrom = toMs - this.windowMs + 1;
    const cut = flags.filter((f) => f.fromMs > plainFrom);
    const plain = flags.filter((f) => f.fromMs <= plainFrom);
    const [app, ...single] = await Promise.all([
      plain.length > 0 ? this.reader.appCounts(appId, { fromMs: plainFrom, toMs }) : Promise.resolve([]),
      ...cut.map((f) => this.reader.flagCounts(f.flagId, { fromMs: Math.min(f.fromMs, toMs), toMs })),
    ]);
    const byId = new Map(app.map((c) => [c.flagId, c]));
    for (const f of plain) {
      const c = byId.get(f.flagId);
      out.set(f.flagId, { success: c?.success ?? 0, failure: c?.failure ?? 0 });
    }
    cut.forEach((f, i) => {
      const c = single[i];
      out.set(f.flagId, { success: c?.success ?? 0, failure: c?.failure ?? 0 });
    });
    return out;
  }
}

/**
 * `TS.MRANGE` reply (RESP2: `[[key, labels, [[ts, value], …]], …]`; RESP3 may answer a map of
 * key → [labels, …, samples]) → key → [bucket start, value] pairs.
 */
export function parseMrange(reply: unknown): Map<string, Array<[number, number]>> {
  const out = new Map<string, Array<[number, number]>>();
  const add = (key: unknown, samples: unknown): void => {
    if (typeof key !== 'string' && !Buffer.isBuffer(key)) return;
    const list: Array<[number, number]> = [];
    if (Array.isArray(samples)) {
      for (const sample of samples) {
        if (!Array.isArray(sample) || sample.length < 2) continue;
        const ts = Number(sample[0]);
        const value = Number(String(sample[1]));
        if (Number.isFinite(ts) && Number.isFinite(value)) list.push([ts, value]);
      }
    }
    out.set(String(key), list);
  };
  if (Array.isArray(reply)) {
    for (const entry of reply) {
      if (Array.isArray(entry) && entry.length >= 3) add(entry[0], entry[entry.length - 1]);
    }
  } else if (typeof reply === 'object' && reply !== null) {
    for (const [key, value] of Object.entries(reply)) {
      if (Array.isArray(value)) add(key, value[value.length - 1]);
    }
  }
  return out;
}

function floorTo(ms: number, step: number): number {
  return ms - (((ms % step) + step) % step);
}
