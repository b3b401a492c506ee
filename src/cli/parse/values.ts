/**
 * Turning command-line strings into values: numbers, booleans, durations, user lists, field
 * assignments. Pure; every error names the option or field and the value (exit code 1).
 */
import { EDITABLE_FIELDS, NEW_FLAG_DEFAULTS, type CircuitPatch, type FlagPatch } from '../../admin/fields';
import { badValue } from '../core/exit-codes';
import { parseAppId } from '../../util/app-id';

const DURATION_UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * A duration such as `500ms`, `30s`, `5m`, `1h`, `1d` or `1m30s`, in ms. A bare number is taken as
 * ms when `bare` is 'ms' (fields stored in ms) and refused otherwise (`--duration 30` is ambiguous).
 */
export function parseDuration(value: string, what: string, bare: 'ms' | 'reject' = 'reject'): number {
  const text = value.trim();
  if (/^\d+$/.test(text)) {
    if (bare === 'ms') return Number(text);
    throw badValue(what, value, 'a duration with a unit, such as 500ms, 30s, 5m or 1h');
  }
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) {
    throw badValue(what, value, 'a duration such as 500ms, 30s, 5m, 1h or 1m30s');
  }
  let ms = 0;
  for (const part of parts) ms += Number(part[1]) * (DURATION_UNITS[part[2] ?? 'ms'] ?? 1);
  return Math.round(ms);
}

/** A number (a trailing `%` is allowed for percentages). Ranges are checked by the admin library. */
export function parseNumber(value: string, what: string, expected = 'a number'): number {
  const text = value.trim().replace(/\s*%$/, '');
  const n = text === '' ? Number.NaN : Number(text);
  if (!Number.isFinite(n)) throw badValue(what, value, expected);
  return n;
}

export function parsePercentage(value: string, what: string): number {
  return parseNumber(value, what, 'a number from 0 to 100');
}

export function parseInteger(value: string, what: string, min = 0): number {
  const n = parseNumber(value, what, `an integer ≥ ${min}`);
  if (!Number.isSafeInteger(n) || n < min) throw badValue(what, value, `an integer ≥ ${min}`);
  return n;
}

const TRUE = new Set(['true', 'on', 'yes', '1']);
const FALSE = new Set(['false', 'off', 'no', '0']);

export function parseBoolean(value: string, what: string): boolean {
  const text = value.trim().toLowerCase();
  if (TRUE.has(text)) return true;
  if (FALSE.has(text)) return false;
  throw badValue(what, value, 'true or false (on/off, yes/no, 1/0)');
}

export function parseChoice<T extends string>(value: string, what: string, choices: readonly T[]): T {
  const found = choices.find((c) => c === value.trim());
  if (found === undefined) throw badValue(what, value, `one of ${choices.join(', ')}`);
  return found;
}

/** User contexts from arguments that may also hold comma-separated lists; blanks dropped, order kept. */
export function parseUsers(values: readonly string[], what = 'users'): string[] {
  const users: string[] = [];
  for (const value of values) {
    for (const part of value.split(',')) {
      const user = part.trim();
      if (user !== '' && !users.includes(user)) users.push(user);
    }
  }
  if (users.length === 0) throw badValue(what, values.join(' '), 'at least one user context');
  return users;
}

/** NATS servers from `--nats-server`: one URL or a comma-separated list. */
export function parseServers(value: string): string[] {
  const servers = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (servers.length === 0) throw badValue('--nats-server', value, 'a NATS URL such as nats://127.0.0.1:4222');
  return servers;
}

/** The flag `what` as an app id, or a CliError naming it. */
export function appIdFlag(value: string | undefined, what = '--app-id'): number {
  if (value === undefined || value.trim() === '') {
    throw badValue(what, value ?? '', 'the app id (a non-negative integer); pass --app-id or set TAILSLIDE_APP_ID');
  }
  const appId = parseAppId(value);
  if (appId === undefined) throw badValue(what, value, 'a non-negative integer');
  return appId;
}

type FieldKind = 'string' | 'number' | 'boolean';

function fieldKind(field: string): FieldKind | undefined {
  if (field === 'title') return 'string';
  const fallback: unknown = (NEW_FLAG_DEFAULTS as Readonly<Record<string, unknown>>)[field];
  if (typeof fallback === 'string') return 'string';
  if (typeof fallback === 'number') return 'number';
  if (typeof fallback === 'boolean') return 'boolean';
  return undefined;
}

/** Converts a string to the type of a wire field (`is_active=true`, `rollout_percentage=20`, …). */
export function parseFieldValue(field: string, value: string, allowed: readonly string[] = EDITABLE_FIELDS): unknown {
  const kind = allowed.includes(field) ? fieldKind(field) : undefined;
  if (kind === undefined)
    throw badValue('--set', `${field}=${value}`, `field=value with one of the fields ${allowed.join(', ')}`);
  const what = `field "${field}"`;
  if (kind === 'boolean') return parseBoolean(value, what);
  if (kind === 'number') return parseNumber(value, what);
  return value;
}

/** `field=value` pairs of `--set` into a patch, typed by field. */
export function parseAssignments(
  assignments: readonly string[],
  allowed: readonly string[] = EDITABLE_FIELDS,
): Record<string, unknown> {
  const patch: Record<string, unknown> = {};
  for (const assignment of assignments) {
    const eq = assignment.indexOf('=');
    if (eq <= 0) throw badValue('--set', assignment, 'field=value, e.g. rollout_percentage=20');
    const field = assignment.slice(0, eq).trim();
    patch[field] = parseFieldValue(field, assignment.slice(eq + 1), allowed);
  }
  return patch;
}

/** Raw strings of the flag-field options of `flags create` and `flags update`. */
export interface FlagFieldOptions {
  title?: string;
  description?: string;
  active?: string;
  on?: boolean;
  rollout?: string;
  whitelist?: string;
  errorThreshold?: string;
  webhooks?: string;
  set?: string[];
}

/** The patch the flag-field options describe; `--set` first, named options win over it. */
export function flagPatchFromOptions(options: FlagFieldOptions): FlagPatch {
  const patch: Record<string, unknown> = parseAssignments(options.set ?? []);
  if (options.title !== undefined) patch.title = options.title;
  if (options.description !== undefined) patch.description = options.description;
  if (options.on === true) patch.is_active = true;
  if (options.active !== undefined) patch.is_active = parseBoolean(options.active, '--active');
  if (options.rollout !== undefined) patch.rollout_percentage = parsePercentage(options.rollout, '--rollout');
  if (options.whitelist !== undefined)
    patch.white_listed_users = options.whitelist === '' ? '' : parseUsers([options.whitelist], '--whitelist').join(',');
  if (options.errorThreshold !== undefined)
    patch.error_threshold_percentage = parsePercentage(options.errorThreshold, '--error-threshold');
  if (options.webhooks !== undefined) patch.webhooks = options.webhooks;
  return patch;
}

/** Raw strings of the options of `flags set-circuit`. */
export interface CircuitOptions {
  errorThreshold?: string;
  status?: string;
  recoverable?: string;
  recoveryPercentage?: string;
  recoveryDelay?: string;
  initialRecoveryPercentage?: string;
  recoveryRate?: string;
  recoveryIncrement?: string;
  recoveryProfile?: string;
}

export function circuitPatchFromOptions(options: CircuitOptions): CircuitPatch {
  const patch: CircuitPatch = {};
  if (options.errorThreshold !== undefined)
    patch.error_threshold_percentage = parsePercentage(options.errorThreshold, '--error-threshold');
  if (options.status !== undefined)
    patch.circuit_status = parseChoice(options.status, '--status', ['open', 'close', 'recovery'] as const);
  if (options.recoverable !== undefined) patch.is_recoverable = parseBoolean(options.recoverable, '--recoverable');
  if (options.recoveryPercentage !== undefined)
    patch.circuit_recovery_percentage = parsePercentage(options.recoveryPercentage, '--recovery-percentage');
  if (options.recoveryDelay !== undefined)
    patch.circuit_recovery_delay = parseDuration(options.recoveryDelay, '--recovery-delay', 'ms');
  if (options.initialRecoveryPercentage !== undefined) {
    patch.circuit_initial_recovery_percentage = parsePercentage(
      options.initialRecoveryPercentage,
      '--initial-recovery-percentage',
    );
  }
  if (options.recoveryRate !== undefined)
    patch.circuit_recovery_rate = parseDuration(options.recoveryRate, '--recovery-rate', 'ms');
  if (options.recoveryIncrement !== undefined)
    patch.circuit_recovery_increment_percentage = parsePercentage(options.recoveryIncrement, '--recovery-increment');
  if (options.recoveryProfile !== undefined) {
    patch.circuit_recovery_profile = parseChoice(options.recoveryProfile, '--recovery-profile', [
      'linear',
      'exponential',
    ] as const);
  }
  return patch;
}
