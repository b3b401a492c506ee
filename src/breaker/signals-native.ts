/**
 * The native reader: ONE `EVAL` per app and poll that sums, server-side, exactly the seconds of
 * each flag's window from its per-second hashes (keys from signals/keys.ts); where scripts are
 * refused, one pipeline of `HMGET <hash> <second>…`. (`SignalReader` reads whole 60 s hashes with
 * HGETALL: measured here, 20,000 busy hashes cost about 1.5 s that way and 0.25 s as HMGETs of 4
 * fields.)
 *
 * On a Redis Cluster (an ioredis `Cluster`) the sums run as one `EVAL` per hash slot (a flag's keys
 * share the slot of their hash tag `{flagId}`), the slots in parallel, and so does the HMGET
 * fallback. A single node still gets ONE command (or pipeline) per app and poll.
 */
import type { Redis } from 'ioredis';
import { blockStart, nativeSignalKey, secondField } from '../signals/keys';
import { describeError, isPermanentReplyError, isReplyError } from '../signals/redis-errors';
import { keySlot } from '../signals/slots';
import type { SignalStatus } from '../signals/types';
import { notANumberReason, parseCount, wrongTypeReason, type BadKey } from './bad-keys';
import { SIGNAL_RESOLUTION_MS, type Counts } from './decide';
import { floorTo, STATUSES, type BreakerSignals, type FlagWindow, type SignalCounts } from './signals';

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
