import { InvalidRulesetError, describeValue, type RulesetIssue } from '../errors';
import { parseTargeting, TARGETING_FIELDS, targetingToWire } from './targeting';
import { WIRE_FIELDS, type CircuitStatus, type Flag, type RecoveryProfile, type WireFlag } from './types';

/** Wait after a trip before recovery starts: one minute. */
export const DEFAULT_CIRCUIT_RECOVERY_DELAY_MS = 60_000;
/** Time between recovery steps: one minute. */
export const DEFAULT_CIRCUIT_RECOVERY_RATE_MS = 60_000;
/** First recovery step, in percent. */
export const DEFAULT_CIRCUIT_INITIAL_RECOVERY_PERCENTAGE = 10;
/** Recovery step size, in percent. */
export const DEFAULT_CIRCUIT_RECOVERY_INCREMENT_PERCENTAGE = 10;

/**
 * The value of every optional wire field a message (or a new flag) leaves out: no description and
 * no whitelist, circuit closed and breaking disabled (threshold 0), and a gentle linear recovery
 * ramp (10 % one minute after a trip, +10 % every minute) that matters only once a threshold and
 * `is_recoverable` are set. The admin library creates new flags with these values too.
 */
export const WIRE_DEFAULTS = {
  description: '',
  white_listed_users: '',
  error_threshold_percentage: 0,
  circuit_status: 'close',
  is_recoverable: false,
  circuit_recovery_percentage: 100,
  circuit_recovery_delay: DEFAULT_CIRCUIT_RECOVERY_DELAY_MS,
  circuit_initial_recovery_percentage: DEFAULT_CIRCUIT_INITIAL_RECOVERY_PERCENTAGE,
  circuit_recovery_rate: DEFAULT_CIRCUIT_RECOVERY_RATE_MS,
  circuit_recovery_increment_percentage: DEFAULT_CIRCUIT_RECOVERY_INCREMENT_PERCENTAGE,
  circuit_recovery_profile: 'linear',
  webhooks: '',
} as const satisfies Partial<WireFlag>;

const CIRCUIT_STATUSES: readonly CircuitStatus[] = ['open', 'close', 'recovery'];
const RECOVERY_PROFILES: readonly RecoveryProfile[] = ['linear', 'exponential'];

const KNOWN_FIELDS = new Set<string>([...WIRE_FIELDS, ...TARGETING_FIELDS]);

export type ParseResult =
  { readonly ok: true; readonly flags: readonly Flag[] } | { readonly ok: false; readonly error: InvalidRulesetError };

/**
 * What the receiving side makes of a ruleset: the flags that passed validation, and an issue for
 * each flag left out. Fails only when the message is not a JSON array, or when it holds flags and
 * none of them is usable (applying it would drop every flag of the app for garbage).
 */
export type LenientParseResult =
  | { readonly ok: true; readonly flags: readonly Flag[]; readonly issues: readonly RulesetIssue[] }
  | { readonly ok: false; readonly error: InvalidRulesetError };

export interface ParseOptions {
  /** The app the ruleset belongs to: flags without `app_id` get it; a different `app_id` is an error. */
  readonly appId?: number;
}

/** Most issues listed in one error; the rest are counted. */
const MAX_ISSUES = 20;

const BOM = 0xfeff;

/**
 * The text of a message: bytes decoded as UTF-8, and a leading byte order mark (which editors on
 * Windows write and `JSON.parse` refuses) removed.
 */
export function rulesetText(payload: Uint8Array | string): string {
  const text =
    typeof payload === 'string'
      ? payload
      : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8');
  return text.charCodeAt(0) === BOM ? text.slice(1) : text;
}

type Decoded =
  { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: InvalidRulesetError };

/** Bytes or text are parsed as JSON (after `rulesetText`); anything else is taken as already parsed. */
function decode(payload: unknown, origin: string): Decoded {
  if (!(payload instanceof Uint8Array) && typeof payload !== 'string') return { ok: true, value: payload };
  try {
    return { ok: true, value: JSON.parse(rulesetText(payload)) };
  } catch (err) {
    const size = typeof payload === 'string' ? payload.length : payload.byteLength;
    return fail(origin, [{ message: `not JSON (${size} bytes): ${(err as Error).message}` }]);
  }
}

/**
 * Decodes a message payload (bytes or text of JSON, or an already-parsed value) and validates it
 * strictly: one bad flag rejects the whole ruleset. For editors and files about to be published.
 * `origin` names where it came from in errors (`apps.1.update.manual #42`, a file path, …).
 */
export function parseRulesetPayload(payload: unknown, origin: string, options: ParseOptions = {}): ParseResult {
  const decoded = decode(payload, origin);
  return decoded.ok ? parseRuleset(decoded.value, origin, options) : decoded;
}

/** `parseRulesetPayload` for the receiving side: see `parseRulesetLenient`. */
export function parseRulesetPayloadLenient(
  payload: unknown,
  origin: string,
  options: ParseOptions = {},
): LenientParseResult {
  const decoded = decode(payload, origin);
  return decoded.ok ? parseRulesetLenient(decoded.value, origin, options) : decoded;
}

/**
 * Validates a ruleset (a bare JSON array of snake_case flags, as in docs/wire-format.md) and converts it
 * to frozen camelCase flags. Strict: every problem is reported with the flag (index and title) and
 * field, and any problem rejects the whole ruleset. Unknown extra fields are kept in `extra`.
 */
export function parseRuleset(value: unknown, origin: string, options: ParseOptions = {}): ParseResult {
  if (!Array.isArray(value)) return notAnArray(origin, value);
  const { flags, issues } = validateFlags(value, options);
  if (issues.length > 0) return fail(origin, issues);
  return { ok: true, flags };
}

/**
 * Validates a ruleset per flag, as a manager receives it: each flag that fails validation is left
 * out and described in `issues` (index, id, title and field); duplicates of a title or an id are
 * left out after the first. Tower accepts flags that this SDK cannot use (an empty title), and one
 * of them must not stop every later change of the app from applying.
 */
export function parseRulesetLenient(value: unknown, origin: string, options: ParseOptions = {}): LenientParseResult {
  if (!Array.isArray(value)) return notAnArray(origin, value);
  const { flags, issues } = validateFlags(value, options);
  if (flags.length === 0 && value.length > 0) return fail(origin, issues);
  return { ok: true, flags, issues };
}

function notAnArray(origin: string, value: unknown): { readonly ok: false; readonly error: InvalidRulesetError } {
  return fail(origin, [{ message: `expected a JSON array of flags, got ${describeValue(value)}` }]);
}

/** Every flag read in order; the first of a title or id wins. */
function validateFlags(value: readonly unknown[], options: ParseOptions): { flags: Flag[]; issues: RulesetIssue[] } {
  const issues: RulesetIssue[] = [];
  const flags: Flag[] = [];
  const titles = new Map<string, number>();
  const ids = new Map<number, number>();
  value.forEach((item: unknown, index) => {
    const flag = parseFlag(item, index, options, issues);
    if (!flag) return;
    const where = { index, id: flag.id, title: flag.title };
    const sameTitle = titles.get(flag.title);
    if (sameTitle !== undefined) {
      issues.push({ ...where, field: 'title', message: `duplicate title (also flag #${sameTitle})` });
      return;
    }
    const sameId = ids.get(flag.id);
    if (sameId !== undefined) {
      issues.push({ ...where, field: 'id', message: `duplicate id ${flag.id} (also flag #${sameId})` });
      return;
    }
    titles.set(flag.title, index);
    ids.set(flag.id, index);
    flags.push(flag);
  });
  return { flags, issues };
}

/** Converts a flag back to the wire format (snake_case), keeping unknown fields. */
export function toWire(flag: Flag): WireFlag {
  return {
    ...flag.extra,
    id: flag.id,
    app_id: flag.appId,
    title: flag.title,
    description: flag.description,
    is_active: flag.isActive,
    rollout_percentage: flag.rolloutPercentage,
    white_listed_users: flag.whiteListedUsers.join(','),
    error_threshold_percentage: flag.errorThresholdPercentage,
    circuit_status: flag.circuitStatus,
    is_recoverable: flag.isRecoverable,
    circuit_recovery_percentage: flag.circuitRecoveryPercentage,
    circuit_recovery_delay: flag.circuitRecoveryDelay,
    circuit_initial_recovery_percentage: flag.circuitInitialRecoveryPercentage,
    circuit_recovery_rate: flag.circuitRecoveryRate,
    circuit_recovery_increment_percentage: flag.circuitRecoveryIncrementPercentage,
    circuit_recovery_profile: flag.circuitRecoveryProfile,
    webhooks: flag.webhooks,
    created_at: flag.createdAt,
    updated_at: flag.updatedAt,
    ...(flag.targeting === undefined ? {} : targetingToWire(flag.targeting)),
  };
}

/** Splits `white_listed_users`: on commas, entries trimmed, empty entries dropped. */
export function splitWhitelist(value: string): string[] {
  const users: string[] = [];
  for (const part of value.split(',')) {
    const user = part.trim();
    if (user !== '') users.push(user);
  }
  return users;
}

function fail(origin: string, issues: RulesetIssue[]): { readonly ok: false; readonly error: InvalidRulesetError } {
  const shown = issues.slice(0, MAX_ISSUES);
  if (issues.length > MAX_ISSUES) shown.push({ message: `and ${issues.length - MAX_ISSUES} more problems` });
  return { ok: false, error: new InvalidRulesetError(origin, shown) };
}

/**
 * Reads the fields of one flag, pushing an issue for each bad one (with the flag's id when that
 * field is usable); undefined when any is bad. Never throws, even for an exotic object passed as
 * a bootstrap (a getter that throws is an issue like any other).
 */
function parseFlag(item: unknown, index: number, options: ParseOptions, issues: RulesetIssue[]): Flag | undefined {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) {
    issues.push({ index, message: `expected a flag object, got ${describeValue(item)}` });
    return undefined;
  }
  const raw = item as Record<string, unknown>;
  const own: RulesetIssue[] = [];
  let flag: Flag | undefined;
  let id: number | undefined;
  try {
    id = isWireId(raw.id) ? raw.id : undefined;
    flag = readFlag(raw, index, options, own);
  } catch (err) {
    own.push({ index, message: `could not be read: ${err instanceof Error ? err.message : describeValue(err)}` });
  }
  if (own.length === 0) return flag;
  for (const issue of own) issues.push(id === undefined ? issue : { ...issue, id });
  return undefined;
}

function isWireId(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function readFlag(raw: Record<string, unknown>, index: number, options: ParseOptions, issues: RulesetIssue[]): Flag {
  const title = typeof raw.title === 'string' && raw.title.trim() !== '' ? raw.title : undefined;
  if (title === undefined) {
    issues.push({ index, field: 'title', message: `must be a non-empty string, got ${describeValue(raw.title)}` });
  }
  const at = (field: string, message: string): void => {
    issues.push(title === undefined ? { index, field, message } : { index, title, field, message });
  };
  const read = new FieldReader(raw, at);

  const id = read.integer('id', { required: true, min: 0 });
  let appId = read.integer('app_id', { min: 0 });
  if (appId === undefined) appId = options.appId ?? 0;
  else if (options.appId !== undefined && appId !== options.appId) {
    at('app_id', `is ${appId}, but this ruleset belongs to app ${options.appId}`);
  }
  const isActive = read.boolean('is_active', { required: true });
  const rollout = read.percentage('rollout_percentage', { required: true });
  const whitelist = read.string('white_listed_users') ?? WIRE_DEFAULTS.white_listed_users;

  const targeting = parseTargeting(raw, at);

  const flag: Flag = {
    id: id ?? 0,
    appId,
    title: title ?? '',
    description: read.string('description') ?? WIRE_DEFAULTS.description,
    isActive: isActive ?? false,
    rolloutPercentage: rollout ?? 0,
    whiteListedUsers: Object.freeze(splitWhitelist(whitelist)),
    errorThresholdPercentage: read.percentage('error_threshold_percentage') ?? WIRE_DEFAULTS.error_threshold_percentage,
    circuitStatus: read.oneOf('circuit_status', CIRCUIT_STATUSES) ?? WIRE_DEFAULTS.circuit_status,
    isRecoverable: read.boolean('is_recoverable') ?? WIRE_DEFAULTS.is_recoverable,
    circuitRecoveryPercentage:
      read.percentage('circuit_recovery_percentage') ?? WIRE_DEFAULTS.circuit_recovery_percentage,
    circuitRecoveryDelay: read.integer('circuit_recovery_delay', { min: 0 }) ?? WIRE_DEFAULTS.circuit_recovery_delay,
    circuitInitialRecoveryPercentage:
      read.percentage('circuit_initial_recovery_percentage') ?? WIRE_DEFAULTS.circuit_initial_recovery_percentage,
    circuitRecoveryRate: read.integer('circuit_recovery_rate', { min: 0 }) ?? WIRE_DEFAULTS.circuit_recovery_rate,
    circuitRecoveryIncrementPercentage:
      read.percentage('circuit_recovery_increment_percentage') ?? WIRE_DEFAULTS.circuit_recovery_increment_percentage,
    circuitRecoveryProfile:
      read.oneOf('circuit_recovery_profile', RECOVERY_PROFILES) ?? WIRE_DEFAULTS.circuit_recovery_profile,
    webhooks: read.string('webhooks') ?? WIRE_DEFAULTS.webhooks,
    createdAt: read.string('created_at') ?? '',
    updatedAt: read.string('updated_at') ?? '',
    ...(targeting === undefined ? {} : { targeting }),
    extra: extraFields(raw),
  };
  return Object.freeze(flag);
}

/**
 * Unknown fields, kept. A null-prototype object, so that a field named `__proto__` stays a field
 * (on a plain object, assigning it would set the prototype and lose the field).
 */
function extraFields(raw: Record<string, unknown>): Readonly<Record<string, unknown>> {
  let extra: Record<string, unknown> | undefined;
  for (const key of Object.keys(raw)) {
    if (KNOWN_FIELDS.has(key)) continue;
    extra ??= Object.create(null) as Record<string, unknown>;
    extra[key] = raw[key];
  }
  // Most flags have no unknown field: they share one empty object. A null-prototype object is a
  // dictionary in V8 (a few hundred bytes even when empty), and 10,000 of them add up.
  return extra === undefined ? NO_EXTRA : Object.freeze(extra);
}

const NO_EXTRA: Readonly<Record<string, unknown>> = Object.freeze(Object.create(null) as Record<string, unknown>);

/**
 * Reads typed fields of one raw flag. Optional fields may be absent or null (then the default
 * applies); a present value of the wrong type or range is an issue. No coercion: "50" is not 50.
 */
class FieldReader {
  constructor(
    private readonly raw: Record<string, unknown>,
    private readonly report: (field: string, message: string) => void,
  ) {}

  private present(field: string, required: boolean): unknown {
    const value = this.raw[field];
    if (value === undefined || value === null) {
      if (required) this.report(field, value === null ? 'is required, got null' : 'is required');
      return undefined;
    }
    return value;
  }

  integer(field: string, { required = false, min = 0 }: { required?: boolean; min?: number }): number | undefined {
    const value = this.present(field, required);
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
      this.report(field, `must be an integer ≥ ${min}, got ${describeValue(value)}`);
      return undefined;
    }
    return value;
  }

  percentage(field: string, { required = false }: { required?: boolean } = {}): number | undefined {
    const value = this.present(field, required);
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 100) {
      this.report(field, `must be a number from 0 to 100, got ${describeValue(value)}`);
      return undefined;
    }
    return value;
  }

  boolean(field: string, { required = false }: { required?: boolean } = {}): boolean | undefined {
    const value = this.present(field, required);
    if (value === undefined) return undefined;
    if (typeof value !== 'boolean') {
      this.report(field, `must be true or false, got ${describeValue(value)}`);
      return undefined;
    }
    return value;
  }

  string(field: string): string | undefined {
    const value = this.present(field, false);
    if (value === undefined) return undefined;
    if (typeof value !== 'string') {
      this.report(field, `must be a string, got ${describeValue(value)}`);
      return undefined;
    }
    return value;
  }

  oneOf<T extends string>(field: string, allowed: readonly T[]): T | undefined {
    const value = this.present(field, false);
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
      this.report(field, `must be one of ${allowed.map((a) => `"${a}"`).join(', ')}, got ${describeValue(value)}`);
      return undefined;
    }
    return value as T;
  }
}
