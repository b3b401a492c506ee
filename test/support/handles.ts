/**
 * What keeps the process alive: the active resources (sockets, timers, …) by type, as
 * `process.getActiveResourcesInfo()` lists them, to check that the SDK leaves none behind.
 */
import { waitFor } from './flags';

export type ResourceCounts = ReadonlyMap<string, number>;

export function activeResources(): ResourceCounts {
  const counts = new Map<string, number>();
  for (const type of process.getActiveResourcesInfo()) counts.set(type, (counts.get(type) ?? 0) + 1);
  return counts;
}

/** Handles of work in progress (a connect, a shutdown, a write, a file op, a DNS lookup). */
const TRANSIENT = /Connect|Shutdown|Write|FSReq|GetAddrInfo|Immediate/;

/**
 * The active resources once the process is quiet: no work in progress and the same list for
 * 200 ms (sockets of an earlier test may still be closing). Use it as the baseline; gives up
 * waiting after `timeoutMs` and returns what is active then.
 */
export async function settledResources(timeoutMs = 3_000): Promise<ResourceCounts> {
  const deadline = Date.now() + timeoutMs;
  const key = (counts: ResourceCounts): string => JSON.stringify([...counts].sort());
  let last = activeResources();
  let stableSince = Date.now();
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const now = activeResources();
    const busy = [...now.keys()].some((type) => TRANSIENT.test(type));
    if (busy || key(now) !== key(last)) stableSince = Date.now();
    else if (Date.now() - stableSince >= 200) return now;
    if (Date.now() > deadline) return now;
    last = now;
  }
}

/** Resource types of which more are active now than in `before`, with how many more. */
export function extraResources(before: ResourceCounts): Record<string, number> {
  const extra: Record<string, number> = {};
  for (const [type, n] of activeResources()) {
    const more = n - (before.get(type) ?? 0);
    if (more > 0) extra[type] = more;
  }
  return extra;
}

/**
 * Waits (bounded) until no more resources are active than in `before`: sockets being closed
 * leave the list a moment after `close()` resolves. Throws with the extra ones if some stay.
 */
export async function expectNoExtraResources(before: ResourceCounts, what: string, timeoutMs = 3_000): Promise<void> {
  try {
    await waitFor(() => Object.keys(extraResources(before)).length === 0, what, timeoutMs);
  } catch {
    throw new Error(`${what}: still active after ${timeoutMs} ms: ${JSON.stringify(extraResources(before))}`);
  }
}
