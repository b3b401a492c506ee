/**
 * Reading the counts the breaker decides on, one app per call, each flag over its own window
 * (`fromMs` to `toMs`, both inclusive; a second counts when it overlaps the window).
 *
 * - TimeSeries: ONE `TS.MRANGE <from> <to> AGGREGATION SUM 1000 FILTER appId=<id>` per app and
 *   poll, from the earliest window start; each flag then sums the one-second buckets of its own
 *   window. Buckets are aligned to the epoch, the module's default since 1.4, so no `ALIGN` is
 *   needed (module 1.4 does not know it) and AGGREGATION comes before FILTER, as 1.4 requires. No
 *   WITHLABELS: the keys (`<flagId>:success` / `<flagId>:failure`) say all we need.
 * - Native: ONE `EVAL` per app and poll that sums, server-side, exactly the seconds of each flag's
 *   window from its per-second hashes (keys from signals/keys.ts); where scripts are refused, one
 *   pipeline of `HMGET <hash> <second>…`. (`SignalReader` reads whole 60 s hashes with HGETALL:
 *   measured here, 20,000 busy hashes cost about 1.5 s that way and 0.25 s as HMGETs of 4 fields.)
 *
 * On a Redis Cluster (an ioredis `Cluster`): `TS.MRANGE` goes to every primary (each answers for its
 * own shard only) and the replies are merged; the native sums run as one `EVAL` per hash slot (a
 * flag's keys share the slot of their hash tag `{flagId}`), the slots in parallel, and so does the
 * HMGET fallback. A single node still gets ONE command (or pipeline) per app and poll.
 */
import type { Redis } from 'ioredis';
import { blockStart, nativeSignalKey, secondField } from '../signals/keys';
import { describeError, isPermanentReplyError } from '../signals/redis-errors';
import { keySlot, primariesOf, SLOT_COUNT } from '../signals/slots';
import type { SignalStatus } from '../signals/types';
import { SIGNAL_RESOLUTION_MS, type Counts } from './decide';

const STATUSES: readonly SignalStatus[] = ['success', 'failure'];

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
    const args = [
      String(floorTo(fromMs, SIGNAL_RESOLUTION_MS)),
      String(toMs),
      'AGGREGATION',
      'SUM',
      String(SIGNAL_RESOLUTION_MS),
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
    const buckets = new Map<string, Array<[number, number]>>();
    for (const reply of replies) {
      for (const [key, list] of parseMrange(reply)) buckets.set(key, [...(buckets.get(key) ?? []), ...list]);
    }
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

/**
 * Sums, server-side, the given fields of each hash: one command per app and poll instead of one
 * HMGET per flag, status and block (10,000 flags make 20,000+ of those). KEYS are the hashes;
 * ARGV[1] is the number n of distinct field lists, ARGV[2..n+1] the lists (comma-separated; most
 * flags share one window, so few lists), then one list index per key. One integer per key back.
 */
const SUM_FIELDS_LUA = `
local n = tonumber(ARGV[1])
local lists = {}
for j = 1, n do
  local fields = {}
  for f in string.gmatch(ARGV[1 + j], '[^,]+') do fields[#fields + 1] = f end
  lists[j] = fields
end
local out = {}
for i, key in ipairs(KEYS) do
  local sum = 0
  for _, v in ipairs(redis.call('HMGET', key, unpack(lists[tonumber(ARGV[1 + n + i])]))) do
    if v then sum = sum + tonumber(v) end
  end
  out[i] = sum
end
return out
`;

interface SumRequest {
  readonly key: string;
  readonly fields: readonly string[];
}

export class NativeSignals implements BreakerSignals {
  readonly backend = 'native' as const;
  /** False once Redis refused the script (scripts disabled, an ACL): plain HMGETs from then on. */
  private scripts = true;

  constructor(
    private readonly client: Redis,
    private readonly onFallback: (reason: string) => void = () => undefined,
  ) {}

  async counts(_appId: number, flags: readonly FlagWindow[], toMs: number): Promise<Map<number, Counts>> {
    const out = new Map<number, Counts>();
    if (flags.length === 0) return out;
    const requests: Array<{ flagId: number; status: SignalStatus; key: string; fields: string[] }> = [];
    for (const { flagId, fromMs } of flags) {
      out.set(flagId, { success: 0, failure: 0 });
      // The seconds overlapping [fromMs, toMs], grouped by the 60 s block (hash) holding them.
      const fields = new Map<number, string[]>();
      for (let second = floorTo(fromMs, SIGNAL_RESOLUTION_MS); second <= toMs; second += SIGNAL_RESOLUTION_MS) {
        const block = blockStart(second);
        const list = fields.get(block) ?? [];
        list.push(String(secondField(second)));
        fields.set(block, list);
      }
      for (const [block, list] of fields) {
        for (const status of STATUSES)
          requests.push({ flagId, status, key: nativeSignalKey(flagId, status, block), fields: list });
      }
    }
    const sums = await this.sums(requests);
    requests.forEach((request, index) => {
      const counts = out.get(request.flagId);
      if (counts !== undefined)
        out.set(request.flagId, { ...counts, [request.status]: counts[request.status] + (sums[index] ?? 0) });
    });
    return out;
  }

  private async sums(requests: readonly SumRequest[]): Promise<number[]> {
    if ((this.client as { isCluster?: unknown }).isCluster !== true) return this.sumsInSlot(requests);
    // A Redis Cluster: one script (or pipeline) per hash slot, the slots in parallel.
    const groups = new Map<number, { requests: SumRequest[]; positions: number[] }>();
    requests.forEach((request, position) => {
      const slot = keySlot(request.key);
      let group = groups.get(slot);
      if (group === undefined) groups.set(slot, (group = { requests: [], positions: [] }));
      group.requests.push(request);
      group.positions.push(position);
    });
    const out = new Array<number>(requests.length).fill(0);
    const answers = await Promise.all([...groups.values()].map((group) => this.sumsInSlot(group.requests)));
    [...groups.values()].forEach((group, i) => {
      group.positions.forEach((position, j) => (out[position] = answers[i]?.[j] ?? 0));
    });
    return out;
  }

  /** Sums of requests whose keys share one hash slot (any keys on a single node). */
  private async sumsInSlot(requests: readonly SumRequest[]): Promise<number[]> {
    if (this.scripts) {
      try {
        const lists = new Map<string, number>();
        const index = requests.map((r) => {
          const list = r.fields.join(',');
          let i = lists.get(list);
          if (i === undefined) lists.set(list, (i = lists.size + 1));
          return i;
        });
        const reply = await this.client.eval(
          SUM_FIELDS_LUA,
          requests.length,
          ...requests.map((r) => r.key),
          lists.size,
          ...lists.keys(),
          ...index,
        );
        if (Array.isArray(reply)) return reply.map((n) => Number(n));
        throw new Error(`unexpected script reply ${typeof reply}`);
      } catch (err) {
        // A connection problem, or a cluster in the middle of a failover (CLUSTERDOWN, TRYAGAIN,
        // LOADING…): this poll fails, the script is tried again next time.
        if (!isPermanentReplyError(err)) throw err;
        // Slots read in parallel may each be refused: say it once.
        if (this.scripts) this.onFallback(describeError(err));
        this.scripts = false;
      }
    }
    const pipeline = this.client.pipeline();
    for (const r of requests) pipeline.hmget(r.key, ...r.fields);
    const results = (await pipeline.exec()) ?? [];
    return results.map(([error, value]) => {
      if (error) throw error;
      let sum = 0;
      if (Array.isArray(value)) {
        for (const raw of value) {
          const n = raw === null ? 0 : Number(raw);
          if (Number.isFinite(n)) sum += n;
        }
      }
      return sum;
    });
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
