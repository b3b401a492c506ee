/**
 * Reading the counts the breaker decides on, one app per call, each flag over its own window
 * (`fromMs` to `toMs`, both inclusive; a second counts when it overlaps the window).
 *
 * - TimeSeries: ONE `TS.MRANGE <from> <to> AGGREGATION SUM 1000 FILTER appId=<id>` per app and
 *   poll, from the earliest window start; each flag then sums the one-second buckets of its own
 *   window. Buckets are aligned to the epoch, the module's default since 1.4, so no `ALIGN` is
 *   needed (module 1.4 does not know it) and AGGREGATION comes before FILTER, as 1.4 requires.
 *   Counted by key name (`<flagId>:success` / `<flagId>:failure`), as Tower does; WITHLABELS (at
 *   some polls, see LABEL_CHECK_MS) only so that a series whose labels name another flag or status
 *   than its key is reported and counted for neither, instead of silently for one (bad-keys.ts).
 * - Native: ONE `EVAL` per app and poll that sums, server-side, exactly the seconds of each flag's
 *   window from its per-second hashes (keys from signals/keys.ts); where scripts are refused, one
 *   pipeline of `HMGET <hash> <second>…`. (`SignalReader` reads whole 60 s hashes with HGETALL:
 *   measured here, 20,000 busy hashes cost about 1.5 s that way and 0.25 s as HMGETs of 4 fields.)
 *
 * On a Redis Cluster (an ioredis `Cluster`): `TS.MRANGE` goes to every primary (each answers for its
 * own shard only) and the replies are merged; the native sums run as one `EVAL` per hash slot (a
 * flag's keys share the slot of their hash tag `{flagId}`), the slots in parallel, and so does the
 * HMGET fallback. A single node still gets ONE command (or pipeline) per app and poll.
 *
 * One bad key (a string where a hash should be, a field that is no number, a mislabelled series)
 * fails nothing: it is returned in `bad` and its flag left out of `counts`; the other flags are
 * counted as usual.
 */
import type { Redis } from 'ioredis';
import { blockStart, nativeSignalKey, secondField } from '../signals/keys';
import { describeError, isPermanentReplyError, isReplyError } from '../signals/redis-errors';
import { keySlot, primariesOf, SLOT_COUNT } from '../signals/slots';
import type { SignalStatus } from '../signals/types';
import {
  notANumberReason,
  parseCount,
  seriesIdentity,
  wrongTypeReason,
  type BadKey,
  type SeriesIdentity,
} from './bad-keys';
import { SIGNAL_RESOLUTION_MS, type Counts } from './decide';

const STATUSES: readonly SignalStatus[] = ['success', 'failure'];

export interface FlagWindow {
  readonly flagId: number;
  readonly fromMs: number;
}

export interface SignalCounts {
  /** Counts per flag id: every requested flag, except those of a bad key. */
  readonly counts: Map<number, Counts>;
  /** Keys that could not be counted, each once. */
  readonly bad: readonly BadKey[];
}

export interface BreakerSignals {
  readonly backend: 'timeseries' | 'native';
  /** Rejects when Redis cannot answer; a bad key only costs its own flag (see `bad`). */
  counts(appId: number, flags: readonly FlagWindow[], toMs: number): Promise<SignalCounts>;
}

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

/**
 * Sums, server-side, the given fields of each hash: one command per app and poll instead of one
 * HMGET per flag, status and block (10,000 flags make 20,000+ of those). KEYS are the hashes;
 * ARGV[1] is the number n of distinct field lists, ARGV[2..n+1] the lists (comma-separated; most
 * flags share one window, so few lists), then one list index per key.
 *
 * Replies `{sums, bad}`: one integer per key, and for each bad key three entries: its index, then
 * '' and its TYPE (not a hash), or the field and its value (not a number). A bad key must not fail
 * the script (WRONGTYPE from `redis.call`, or `nil + number` in Lua), or every flag of the app
 * would go unread: HMGET goes through `redis.pcall`, and only WRONGTYPE is taken as the key's
 * fault; any other error (an ACL refusal, say) is the script's answer, as before. TYPE is asked
 * only for a key already refused. `tonumber` accepts "inf" and "nan" (Lua 5.1's strtod): refused,
 * as a sum of them would not make an integer reply.
 */
const SUM_FIELDS_LUA = `
local n = tonumber(ARGV[1])
local lists = {}
for j = 1, n do
  local fields = {}
  for f in string.gmatch(ARGV[1 + j], '[^,]+') do fields[#fields + 1] = f end
  lists[j] = fields
end
local sums = {}
local bad = {}
for i, key in ipairs(KEYS) do
  local fields = lists[tonumber(ARGV[1 + n + i])]
  local values = redis.pcall('HMGET', key, unpack(fields))
  local sum = 0
  if values.err then
    if string.sub(values.err, 1, 9) ~= 'WRONGTYPE' then return values end
    bad[#bad + 1] = i
    bad[#bad + 1] = ''
    bad[#bad + 1] = redis.call('TYPE', key).ok
  else
    for j, v in ipairs(values) do
      if v then
        local x = tonumber(v)
        if x == nil or x ~= x or x == math.huge or x == -math.huge then
          bad[#bad + 1] = i
          bad[#bad + 1] = fields[j]
          bad[#bad + 1] = string.sub(v, 1, 64)
          sum = 0
          break
        end
        sum = sum + x
      end
    end
  end
  sums[i] = sum
end
return {sums, bad}
`;

interface SumRequest {
  readonly key: string;
  readonly fields: readonly string[];
}

/** Sums per request (0 for a bad key), and the reason of each bad key by request position. */
interface Sums {
  readonly sums: number[];
  readonly bad: Map<number, string>;
}

export class NativeSignals implements BreakerSignals {
  readonly backend = 'native' as const;
  /** False once Redis refused the script (scripts disabled, an ACL): plain HMGETs from then on. */
  private scripts = true;

  constructor(
    private readonly client: Redis,
    private readonly onFallback: (reason: string) => void = () => undefined,
  ) {}

  async counts(_appId: number, flags: readonly FlagWindow[], toMs: number): Promise<SignalCounts> {
    const out = new Map<number, Counts>();
    const bad: BadKey[] = [];
    if (flags.length === 0) return { counts: out, bad };
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
    const { sums, bad: badAt } = await this.sums(requests);
    requests.forEach((request, index) => {
      const counts = out.get(request.flagId);
      if (counts !== undefined)
        out.set(request.flagId, { ...counts, [request.status]: counts[request.status] + (sums[index] ?? 0) });
    });
    for (const [index, reason] of [...badAt].sort(([a], [b]) => a - b)) {
      const request = requests[index];
      if (request === undefined) continue;
      bad.push({ flagId: request.flagId, key: request.key, reason });
      out.delete(request.flagId);
    }
    return { counts: out, bad };
  }

  private async sums(requests: readonly SumRequest[]): Promise<Sums> {
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
    const sums = new Array<number>(requests.length).fill(0);
    const bad = new Map<number, string>();
    const list = [...groups.values()];
    const answers = await Promise.all(list.map((group) => this.sumsInSlot(group.requests)));
    list.forEach((group, i) => {
      const answer = answers[i];
      if (answer === undefined) return;
      group.positions.forEach((position, j) => (sums[position] = answer.sums[j] ?? 0));
      for (const [j, reason] of answer.bad) {
        const position = group.positions[j];
        if (position !== undefined) bad.set(position, reason);
      }
    });
    return { sums, bad };
  }

  /** Sums of requests whose keys share one hash slot (any keys on a single node). */
  private async sumsInSlot(requests: readonly SumRequest[]): Promise<Sums> {
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
        return parseSumsReply(reply);
      } catch (err) {
        // A connection problem, or a cluster in the middle of a failover (CLUSTERDOWN, TRYAGAIN,
        // LOADING…): this poll fails, the script is tried again next time.
        if (!isPermanentReplyError(err)) throw err;
        // Slots read in parallel may each be refused: say it once.
        if (this.scripts) this.onFallback(describeError(err));
        this.scripts = false;
      }
    }
    return this.sumsByHmget(requests);
  }

  /**
   * The same sums from a pipeline of HMGETs: each command has its own reply, so a WRONGTYPE costs
   * only its key; any other error fails the read, as the script's would.
   */
  private async sumsByHmget(requests: readonly SumRequest[]): Promise<Sums> {
    const pipeline = this.client.pipeline();
    for (const r of requests) pipeline.hmget(r.key, ...r.fields);
    const results = (await pipeline.exec()) ?? [];
    const bad = new Map<number, string>();
    const wrongType: number[] = [];
    const sums = requests.map((request, index) => {
      const [error, value] = results[index] ?? [new Error('no pipeline reply'), null];
      if (error) {
        if (isReplyError(error) && error.message.startsWith('WRONGTYPE')) {
          wrongType.push(index);
          return 0;
        }
        throw error;
      }
      let sum = 0;
      if (Array.isArray(value)) {
        for (const [j, raw] of value.entries()) {
          if (raw === null || raw === undefined) continue;
          const n = parseCount(String(raw));
          if (n === undefined) {
            bad.set(index, notANumberReason(request.fields[j] ?? '?', String(raw)));
            return 0;
          }
          sum += n;
        }
      }
      return sum;
    });
    if (wrongType.length > 0) {
      // Rare: only for keys already refused, to say what they hold.
      const types = this.client.pipeline();
      for (const index of wrongType) types.type(requests[index]?.key ?? '');
      const answers = (await types.exec()) ?? [];
      wrongType.forEach((index, i) => {
        const [error, type] = answers[i] ?? [null, undefined];
        bad.set(index, error || typeof type !== 'string' ? 'is not a hash (WRONGTYPE)' : wrongTypeReason(type));
      });
    }
    return { sums, bad };
  }
}

/** The script's `{sums, bad}` reply (see SUM_FIELDS_LUA). */
function parseSumsReply(reply: unknown): Sums {
  if (!Array.isArray(reply) || !Array.isArray(reply[0]) || !Array.isArray(reply[1]))
    throw new Error(`unexpected script reply ${JSON.stringify(reply)?.slice(0, 80) ?? typeof reply}`);
  const sums = (reply[0] as unknown[]).map((n) => Number(n));
  const flat = reply[1] as unknown[];
  const bad = new Map<number, string>();
  for (let i = 0; i + 2 < flat.length; i += 3) {
    const index = Number(flat[i]) - 1;
    const field = String(flat[i + 1]);
    const what = String(flat[i + 2]);
    bad.set(index, field === '' ? wrongTypeReason(what) : notANumberReason(field, what));
  }
  return { sums, bad };
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

function floorTo(ms: number, step: number): number {
  return ms - (((ms % step) + step) % step);
}
