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
