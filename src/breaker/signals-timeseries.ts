/**
 * The TimeSeries reader: ONE `TS.MRANGE <from> <to> AGGREGATION SUM 1000 FILTER appId=<id>` per app
 * and poll, from the earliest window start; each flag then sums the one-second buckets of its own
 * window. Buckets are aligned to the epoch, the module's default since 1.4, so no `ALIGN` is
 * needed (module 1.4 does not know it) and AGGREGATION comes before FILTER, as 1.4 requires.
 * Counted by key name (`<flagId>:success` / `<flagId>:failure`), as Tower does; WITHLABELS (at
 * some polls, see LABEL_CHECK_MS) only so that a series whose labels name another flag or status
 * than its key is reported and counted for neither, instead of silently for one (bad-keys.ts).
 *
 * On a Redis Cluster (an ioredis `Cluster`): `TS.MRANGE` goes to every primary (each answers for its
 * own shard only) and the replies are merged. A single node still gets ONE command per app and poll.
 */
import type { Redis } from 'ioredis';
import { primariesOf, SLOT_COUNT } from '../signals/slots';
import { seriesIdentity, type BadKey, type SeriesIdentity } from './bad-keys';
import { SIGNAL_RESOLUTION_MS, type Counts } from './decide';
import { floorTo, STATUSES, type BreakerSignals, type FlagWindow, type SignalCounts } from './signals';

/**
 * How long the labels checked at one poll are trusted while the series stay the same: a series
 * deleted and made again, or `TS.ALTER`ed, with other labels under the same name is noticed
 * within this time (on the breaker's clock).
 */
export const LABEL_CHECK_MS = 30_000;

/** What the labels of an app's series said at the last poll that asked them. */
interface LabelCheck {
  /** Every series name seen then. */
  readonly known: ReadonlySet<string>;
  /** The bad ones: while there is one, every poll asks the labels again, until it is fixed. */
  readonly bad: ReadonlyArray<{ readonly key: string; readonly identity: SeriesIdentity & { kind: 'bad' } }>;
  readonly atMs: number;
}

function labelCheck(series: ReadonlyMap<string, MrangeSeries>, atMs: number): LabelCheck {
  const bad: Array<{ key: string; identity: SeriesIdentity & { kind: 'bad' } }> = [];
  for (const [key, { labels }] of series) {
    const identity = seriesIdentity(key, labels);
    if (identity.kind === 'bad') bad.push({ key, identity });
  }
  return { known: new Set(series.keys()), bad, atMs };
}

function everyKeyKnown(series: ReadonlyMap<string, MrangeSeries>, known: ReadonlySet<string>): boolean {
  for (const key of series.keys()) if (!known.has(key)) return false;
  return true;
}

export class TimeSeriesSignals implements BreakerSignals {
  readonly backend = 'timeseries' as const;
  private readonly checks = new Map<number, LabelCheck>();

  constructor(private readonly client: Redis) {}

  async counts(appId: number, flags: readonly FlagWindow[], toMs: number): Promise<SignalCounts> {
    const out = new Map<number, Counts>();
    const bad: BadKey[] = [];
    if (flags.length === 0) return { counts: out, bad };
    const fromMs = Math.min(...flags.map((f) => f.fromMs));
    // WITHLABELS makes the reply, and reading it, about half as heavy again (10,000 flags: some
    // 50 ms more per poll, measured with bench/breaker.mjs), so labels are asked only when they
    // may have changed: the first poll, a series not seen before, a bad series (until it is
    // fixed), and every LABEL_CHECK_MS. Module 1.4 has no SELECTED_LABELS to ask fewer.
    const last = this.checks.get(appId);
    const trusted =
      last !== undefined && last.bad.length === 0 && toMs >= last.atMs && toMs - last.atMs < LABEL_CHECK_MS;
    let series = await this.mrange(appId, fromMs, toMs, !trusted);
    let check = last;
    if (check === undefined || !trusted || !everyKeyKnown(series, check.known)) {
      if (trusted) series = await this.mrange(appId, fromMs, toMs, true);
      check = labelCheck(series, toMs);
      this.checks.set(appId, check);
    }
    const requested = new Set(flags.map((f) => f.flagId));
    const held = new Set<number>();
    for (const { key, identity } of check.bad) {
      // Named after flags of another app, or of flags not judged now: none of ours to hold.
      if (!series.has(key) || !identity.flagIds.some((id) => requested.has(id))) continue;
      const own = identity.flagIds[0];
      const flagId = own !== undefined && requested.has(own) ? own : undefined;
      if (flagId !== undefined) held.add(flagId);
      bad.push({ flagId, key, reason: identity.reason });
    }
    // Counted by key name: a bad series under `<n>:<status>` is n's, and n is held (or not judged).
    for (const { flagId, fromMs: flagFrom } of flags) {
      if (held.has(flagId)) continue;
      const counts = { success: 0, failure: 0 };
      for (const status of STATUSES) {
        for (const [startMs, value] of series.get(`${flagId}:${status}`)?.samples ?? []) {
          if (startMs + SIGNAL_RESOLUTION_MS - 1 >= flagFrom && startMs <= toMs) counts[status] += value;
        }
      }
      out.set(flagId, counts);
    }
    return { counts: out, bad };
  }

  /** The app's series over the window, merged from every primary. */
  private async mrange(
    appId: number,
    fromMs: number,
    toMs: number,
    withLabels: boolean,
  ): Promise<Map<string, MrangeSeries>> {
    const args = [
      String(floorTo(fromMs, SIGNAL_RESOLUTION_MS)),
      String(toMs),
      'AGGREGATION',
      'SUM',
      String(SIGNAL_RESOLUTION_MS),
      // After AGGREGATION, before FILTER: accepted there by module 1.4.14 and 1.6.19 alike.
      ...(withLabels ? ['WITHLABELS'] : []),
      'FILTER',
      `appId=${appId}`,
    ];
    // One node: the client itself. A cluster: every primary, each holding its shard's series.
    const nodes = primariesOf(this.client);
    if (nodes.length === 0) throw new Error('no Redis Cluster primary is known yet');
    assertEveryShard(this.client, nodes);
    const replies = await Promise.all(
      nodes.map((node) =>
        node.call('TS.MRANGE', ...args).catch((error: unknown) => {
          // A keyless command meets no MOVED: without this, ioredis would keep a dead primary in
          // its map after a failover. The next poll asks the refreshed primaries.
          refreshSlots(this.client);
          throw error;
        }),
      ),
    );
    if (replies.length === 1) return parseMrange(replies[0]);
    const merged = new Map<string, MrangeSeries>();
    for (const reply of replies) {
      for (const [key, entry] of parseMrange(reply)) {
        const known = merged.get(key);
        if (known === undefined) merged.set(key, entry);
        else known.samples.push(...entry.samples);
      }
    }
    return merged;
  }
}

/** Asks a Redis Cluster client (ioredis `Cluster`) to read the slot map again; nothing on a single node. */
function refreshSlots(client: object): void {
  const cluster = client as { isCluster?: unknown; refreshSlotsCache?: unknown };
  if (cluster.isCluster !== true || typeof cluster.refreshSlotsCache !== 'function') return;
  try {
    (cluster.refreshSlotsCache as (callback: (error?: Error | null) => void) => void).call(client, () => undefined);
  } catch {
    // a refresh already under way, or none possible now: the next failure asks again
  }
}

/**
 * On a Redis Cluster, every slot must have its primary among `nodes`: a flag's success and failure
 * series carry no hash tag, so they may sit on two shards, and one shard missing (a failover under
 * way) could leave its failures without its successes. Then the poll fails (circuits are held)
 * and the slot map is read again.
 * ioredis keeps the slot map as `slots[slot] = [primary key, replica keys…]`, keys `host:port`.
 */
function assertEveryShard(client: object, nodes: readonly Redis[]): void {
  const cluster = client as { isCluster?: unknown; slots?: unknown };
  if (cluster.isCluster !== true || !Array.isArray(cluster.slots)) return;
  const slots: unknown[] = cluster.slots;
  const known = new Set(nodes.map((node) => `${node.options.host ?? ''}:${node.options.port ?? ''}`));
  for (let slot = 0; slot < SLOT_COUNT; slot++) {
    const owners: unknown = slots[slot];
    const primary: unknown = Array.isArray(owners) ? owners[0] : undefined;
    if (typeof primary !== 'string' || !known.has(primary)) {
      // The map may predate the failover's end: read it again for the next poll.
      refreshSlots(client);
      throw new Error(`Redis Cluster slot ${slot} has no known primary (a failover under way?)`);
    }
  }
}

export interface MrangeSeries {
  readonly labels: ReadonlyMap<string, string>;
  readonly samples: Array<[number, number]>;
}

/**
 * `TS.MRANGE … WITHLABELS` reply (RESP2: `[[key, [[name, value], …], [[ts, value], …]], …]`; RESP3
 * may answer a map of key → [labels, …, samples]) → key → labels and [bucket start, value] pairs.
 */
export function parseMrange(reply: unknown): Map<string, MrangeSeries> {
  const out = new Map<string, MrangeSeries>();
  const add = (key: unknown, labels: unknown, samples: unknown): void => {
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
    out.set(String(key), { labels: parseLabels(labels), samples: list });
  };
  if (Array.isArray(reply)) {
    for (const entry of reply) {
      if (Array.isArray(entry) && entry.length >= 3) add(entry[0], entry[1], entry[entry.length - 1]);
    }
  } else if (typeof reply === 'object' && reply !== null) {
    for (const [key, value] of Object.entries(reply)) {
      if (Array.isArray(value)) add(key, value[0], value[value.length - 1]);
    }
  }
  return out;
}

/** Shared by every series read without WITHLABELS: no Map per series and poll (20,000 at 10,000 flags). */
const NO_LABELS: ReadonlyMap<string, string> = new Map();

/** Labels as `[[name, value], …]` (RESP2) or `{ name: value }` (RESP3). */
function parseLabels(raw: unknown): ReadonlyMap<string, string> {
  if (raw === undefined || (Array.isArray(raw) && raw.length === 0)) return NO_LABELS;
  const out = new Map<string, string>();
  if (Array.isArray(raw)) {
    for (const pair of raw) {
      if (Array.isArray(pair) && pair.length >= 2) out.set(String(pair[0]), String(pair[1]));
    }
  } else if (typeof raw === 'object' && raw !== null) {
    for (const [name, value] of Object.entries(raw)) out.set(name, String(value));
  }
  return out;
}
