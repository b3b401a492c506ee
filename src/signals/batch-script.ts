/**
 * Idempotent batches: one Lua script applies a batch (or, on a Redis Cluster, the part of it in one
 * hash slot) only if the batch's marker key is new. Pure encoding and decoding, unit-tested; the
 * script itself is tested on real servers. Design in docs/signals.md, "Idempotent batches".
 *
 * `SET <marker> 1 NX PX <ttl>` runs first, in the same script, so "applied" and "marked" are one
 * atomic step (a script runs whole, and with AOF its effects are logged as one MULTI/EXEC): a batch
 * whose reply was lost (Redis killed after applying it, a timeout) is sent again with the same id
 * and answered `duplicate` instead of being applied twice.
 */
import { createHash } from 'node:crypto';
import type { CommandArg, PlannedCommand } from './backend';
import type { RedisExecReply } from './client';

/**
 * How long a marker lives: the horizon within which a batch may be resent. 10 min covers a Redis
 * restart (AOF load included) and a failover with room to spare; a batch still in doubt after
 * RESEND_HORIZON_MS is not resent (it is counted as unknown), so a resend never finds its marker
 * expired. Cost: one small string key per batch written in the last 10 min (docs/signals.md).
 */
export const MARKER_TTL_MS = 600_000;
/** A batch in doubt is resent only this long after it was first sent (a minute short of the TTL). */
export const RESEND_HORIZON_MS = MARKER_TTL_MS - 60_000;

/**
 * KEYS[1]: the marker; KEYS[2..]: every key the commands touch (declared, as Redis asks of scripts
 * and as a Cluster needs to route them). ARGV[1]: the marker's TTL in ms; then per command:
 * `<extra argument count> <name> <index of its key in KEYS> <extra arguments…>`. Each command runs
 * with pcall, so one refused command does not stop the others (as in MULTI/EXEC); the answer is one
 * `{1, reply}` or `{0, error message}` per command, or `duplicate` when the marker existed.
 */
export const BATCH_SCRIPT = `if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then return 'duplicate' end
local out = {}
local n = 0
local i = 2
while i <= #ARGV do
  local extra = tonumber(ARGV[i])
  local cmd = { ARGV[i + 1], KEYS[tonumber(ARGV[i + 2])] }
  for j = 1, extra do cmd[2 + j] = ARGV[i + 2 + j] end
  i = i + 3 + extra
  local r = redis.pcall(unpack(cmd))
  n = n + 1
  if type(r) == 'table' and r.err then out[n] = { 0, r.err } else out[n] = { 1, r } end
end
return out`;

export const BATCH_SCRIPT_SHA = createHash('sha1').update(BATCH_SCRIPT).digest('hex');

/** The hash tag a key is placed by: its first non-empty `{…}`, else the whole key (as Redis Cluster). */
export function hashTag(key: string): string {
  const open = key.indexOf('{');
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) return key.slice(open + 1, close);
  }
  return key;
}

/** The marker of batch `id` for commands in the slot of `key`: same slot, so one script may touch both. */
export function markerKey(id: string, key: string): string {
  return `tailslide:batch:{${hashTag(key)}}:${id}`;
}

/**
 * The arguments of `EVALSHA <sha>` / `EVAL <script>` (after the script) that apply `commands` under
 * `marker`: `<numkeys> <keys…> <argv…>`. Every planned command has its key first.
 */
export function scriptArguments(
  marker: string,
  commands: readonly PlannedCommand[],
  ttlMs = MARKER_TTL_MS,
): CommandArg[] {
  const keys: string[] = [marker];
  const keyIndex = new Map<string, number>();
  const argv: CommandArg[] = [ttlMs];
  for (const command of commands) {
    const key = String(command.args[0] ?? '');
    let index = keyIndex.get(key);
    if (index === undefined) {
      keys.push(key);
      index = keys.length; // Lua's KEYS is 1-based
      keyIndex.set(key, index);
    }
    argv.push(command.args.length - 1, command.name, index);
    for (let a = 1; a < command.args.length; a += 1) argv.push(command.args[a] as CommandArg);
  }
  return [keys.length, ...keys, ...argv];
}

/** An error a command inside the batch script answered: a reply error, as MULTI/EXEC would give it. */
export class ScriptCommandError extends Error {
  constructor(message: string) {
    super(message);
    // `ReplyError` is what redis-errors.ts tells server refusals by (as ioredis names them).
    this.name = 'ReplyError';
  }
}

/** What the batch script answered. */
export type ScriptAnswer =
  { readonly kind: 'duplicate' } | { readonly kind: 'applied'; readonly replies: NonNullable<RedisExecReply> };

/**
 * Maps the script's answer to EXEC's shape (`[error, reply]` per command, in order). A reply missing
 * for a command stays missing (settleReplies treats it as a failure that may pass); an answer of
 * another shape is an error (the script is not ours, or changed).
 */
export function decodeScriptReply(reply: unknown, commandCount: number): ScriptAnswer {
  if (reply === 'duplicate') return { kind: 'duplicate' };
  if (!Array.isArray(reply)) throw new Error(`unexpected answer of the batch script: ${String(reply)}`);
  const replies: Array<[Error | null, unknown]> = [];
  for (let i = 0; i < Math.min(reply.length, commandCount); i += 1) {
    const item: unknown = reply[i];
    if (Array.isArray(item) && item[0] === 1) replies.push([null, item[1] ?? null]);
    else if (Array.isArray(item) && item[0] === 0) replies.push([new ScriptCommandError(scriptError(item[1])), null]);
    else replies.push([new ScriptCommandError('unexpected reply of the batch script'), null]);
  }
  return { kind: 'applied', replies };
}

/**
 * A command's error inside the script. An ACL refusal there reads "ERR The user executing the script
 * can't run this command…" (Redis 7.0), where MULTI/EXEC says NOPERM: it is given the NOPERM prefix, so
 * it is reported as a permission problem (with the pointer to docs/permissions.md) either way.
 */
function scriptError(message: unknown): string {
  const text = String(message);
  return /^ERR The user executing the script can't/.test(text) ? `NOPERM ${text.slice(4)}` : text;
}

/** Redis refuses scripts here (ACL without EVAL/EVALSHA, `rename-command`, a service without scripting). */
export function isScriptRefused(error: unknown): boolean {
  if (!(error instanceof Error) || error.name !== 'ReplyError') return false;
  return /^NOPERM/.test(error.message) || /unknown command .?eval/i.test(error.message);
}

/** EVALSHA found no script of that hash (a new or restarted server, SCRIPT FLUSH): send EVAL. */
export function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.name === 'ReplyError' && /^NOSCRIPT/.test(error.message);
}

/** ioredis' `commandTimeout` fired: Redis did not answer in time (hung, or far too slow). */
export function isCommandTimeout(error: unknown): boolean {
  return error instanceof Error && error.message === 'Command timed out';
}
