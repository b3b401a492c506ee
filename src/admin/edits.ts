/**
 * The flag edits as pure functions of a ruleset: each takes the app's current ruleset and returns
 * the whole new one. The writer re-applies an edit to a fresh read whenever another writer got in
 * first, so an edit must depend on nothing but its input and context.
 */
import { describeValue } from '../errors';
import { parseRuleset, splitWhitelist, toWire } from '../ruleset/parse';
import type { WireFlag } from '../ruleset/types';
import { deepEqual } from './diff';
import { findInvalidFlag, withRawTargeting, type InvalidFlag } from './read';
import {
  DuplicateTitleError,
  FlagChangedError,
  InvalidFlagValueError,
  UnknownAppError,
  UnknownFlagError,
  describeFlagRef,
  type FlagRef,
} from './errors';
import {
  CIRCUIT_FIELDS,
  MANAGED_FIELDS,
  PATCHABLE_FIELDS,
  NEW_FLAG_DEFAULTS,
  newWireFlag,
  type CircuitPatch,
  type FlagPatch,
  type NewFlagInput,
} from './fields';

export interface EditContext {
  readonly appId: number;
  readonly stream: string;
  /** `updated_at` (and `created_at`) of what the edit touches. */
  readonly nowIso: string;
  /** The next free flag id, unique across apps. Only edits run with `allApps` may call it. */
  allocateId(): number;
  /** Flag ids in other apps' current rulesets (id → app id). Empty unless run with `allApps`. */
  readonly otherAppIds: ReadonlyMap<number, number>;
  /** The app's flags that fail validation, kept verbatim by every edit that does not name them. */
  readonly invalidFlags?: readonly InvalidFlag[];
}

export interface EditResult {
  /** The app's whole new ruleset. */
  readonly flags: readonly WireFlag[];
  /** False when the edit changed nothing (then nothing is published). */
  readonly changed: boolean;
  /** The flag created, changed or deleted (as it was before deletion). */
  readonly flag?: WireFlag;
  /** The position of an invalid flag this edit made valid (`flag` takes its place). */
  readonly fixed?: number;
  /** The position of an invalid flag this edit deleted. */
  readonly dropped?: number;
}

/** `current` is undefined when the app has no message in the stream yet. */
export type RulesetEdit = (current: readonly WireFlag[] | undefined, ctx: EditContext) => EditResult;

export function createFlagEdit(input: NewFlagInput): RulesetEdit {
  return (current, ctx) => {
    const flags = current ?? [];
    const title: unknown = (input as { title?: unknown } | null)?.title;
    if (typeof title !== 'string' || title.trim() === '') {
      throw new InvalidFlagValueError(
        ctx.appId,
        typeof title === 'string' ? title : '(new flag)',
        'title',
        title,
        `must be a non-empty string, got ${describeValue(title)}`,
      );
    }
    const fields = cleanPatch(ctx.appId, title, input, PATCHABLE_FIELDS);
    const existing = flags.find((flag) => flag.title === title);
    if (existing) throw new DuplicateTitleError(ctx.appId, title, existing.id);
    const flag = newWireFlag(ctx.appId, ctx.allocateId(), { ...fields, title }, ctx.nowIso);
    if (typeof fields.white_listed_users === 'string')
      flag.white_listed_users = normalizeWhitelist(fields.white_listed_users);
    checkFlag(ctx.appId, flag);
    return { flags: [...flags, flag], changed: true, flag };
  };
}

/**
 * `expect`: values the caller saw (some fields of the flag); when any differs from the flag in the
 * ruleset the edit is applied to, `FlagChangedError` is thrown and nothing is published.
 */
export function updateFlagEdit(
  ref: FlagRef,
  patch: FlagPatch,
  expect?: Readonly<Record<string, unknown>>,
): RulesetEdit {
  return modifyFlag(ref, (flag, ctx) => {
    if (expect !== undefined) {
      const changed = Object.keys(expect).filter((field) => !deepEqual(flag[field], expect[field]));
      if (changed.length > 0) throw new FlagChangedError(ctx.appId, flag, changed);
    }
    const fields = cleanPatch(ctx.appId, flag.title, patch, PATCHABLE_FIELDS);
    if (typeof fields.white_listed_users === 'string')
      fields.white_listed_users = normalizeWhitelist(fields.white_listed_users);
    return fields;
  });
}

export function setCircuitEdit(ref: FlagRef, patch: CircuitPatch): RulesetEdit {
  return modifyFlag(ref, (flag, ctx) => cleanPatch(ctx.appId, flag.title, patch, CIRCUIT_FIELDS));
}

export function setActiveEdit(ref: FlagRef, active: boolean): RulesetEdit {
  return modifyFlag(ref, () => ({ is_active: active }));
}

export function setRolloutEdit(ref: FlagRef, percentage: number): RulesetEdit {
  return modifyFlag(ref, () => ({ rollout_percentage: percentage }));
}

export function addWhitelistedUsersEdit(ref: FlagRef, users: readonly string[]): RulesetEdit {
  return modifyFlag(ref, (flag, ctx) => {
    const add = checkUsers(ctx.appId, flag.title, users);
    const list = splitWhitelist(stringField(flag.white_listed_users));
    for (const user of add) if (!list.includes(user)) list.push(user);
    return { white_listed_users: list.join(',') };
  });
}

export function removeWhitelistedUsersEdit(ref: FlagRef, users: readonly string[]): RulesetEdit {
  return modifyFlag(ref, (flag, ctx) => {
    const remove = new Set(checkUsers(ctx.appId, flag.title, users));
    const list = splitWhitelist(stringField(flag.white_listed_users)).filter((user) => !remove.has(user));
    return { white_listed_users: list.join(',') };
  });
}

export function deleteFlagEdit(ref: FlagRef): RulesetEdit {
  return (current, ctx) => {
    const flags = requireRuleset(current, ctx);
    const invalid = findInvalid(flags, ref, ctx);
    if (invalid !== undefined) return { flags, changed: true, dropped: invalid.index };
    const index = findFlag(flags, ref, ctx.appId);
    const flag = flags[index];
    return { flags: flags.filter((_, i) => i !== index), changed: true, ...(flag ? { flag } : {}) };
  };
}

/**
 * Replaces the whole ruleset with `value` (e.g. a file's content). Fields a flag leaves out get the
 * same defaults `createFlag` gives (except `id`, `title`, `is_active` and `rollout_percentage`,
 * which stay required), then it is validated as the SDK validates messages. `app_id` may be left
 * out. A missing `created_at` keeps the current flag's of the same id (or is now), a missing
 * `updated_at` is now. An id already used by another app is refused.
 */
export function replaceRulesetEdit(value: unknown, origin: string): RulesetEdit {
  return (current, ctx) => {
    const createdAt = new Map((current ?? []).map((flag) => [flag.id, flag.created_at]));
    // Valid, so index for index the input's flags: their targeting fields are kept as written.
    const items = Array.isArray(value) ? (value as unknown[]) : [];
    const flags = validateRuleset(withNewFlagDefaults(value), origin, ctx.appId).map((flag, i) => ({
      ...withRawTargeting(flag, items[i]),
      created_at: flag.created_at === '' ? (createdAt.get(flag.id) ?? ctx.nowIso) : flag.created_at,
      updated_at: flag.updated_at === '' ? ctx.nowIso : flag.updated_at,
    }));
    for (const flag of flags) {
      const other = ctx.otherAppIds.get(flag.id);
      if (other !== undefined) {
        throw new InvalidFlagValueError(
          ctx.appId,
          flag.title,
          'id',
          flag.id,
          `is ${flag.id}, already used by a flag of app ${other} (ids are unique across apps)`,
        );
      }
    }
    return { flags, changed: true };
  };
}

/** Fields whose absence in a published file is an error rather than a default. */
const REQUIRED_IN_FILE = new Set(['is_active', 'rollout_percentage']);

/**
 * A ruleset with `NEW_FLAG_DEFAULTS` filled into every flag object for the fields it leaves out
 * (absent or null). Anything that is not an array of objects is returned as is, for the validator
 * to report.
 */
export function withNewFlagDefaults(value: unknown): unknown {
  if (!Array.isArray(value)) return value;
  return value.map((item: unknown) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) return item;
    const flag: Record<string, unknown> = { ...item };
    for (const [field, fallback] of Object.entries(NEW_FLAG_DEFAULTS)) {
      if (!REQUIRED_IN_FILE.has(field) && (flag[field] === undefined || flag[field] === null)) flag[field] = fallback;
    }
    return flag;
  });
}

/** Validates a ruleset for app `appId` and returns it in the wire format; throws `InvalidRulesetError`. */
export function validateRuleset(value: unknown, origin: string, appId: number): WireFlag[] {
  const parsed = parseRuleset(value, origin, { appId });
  if (!parsed.ok) throw parsed.error;
  return parsed.flags.map(toWire);
}

export type PatchFn = (flag: WireFlag, ctx: EditContext) => Partial<Record<string, unknown>>;

/**
 * An edit of one existing flag: applies the patch (a field patched to undefined is removed), sets
 * `updated_at`, validates the result. A flag that fails validation in the stored ruleset can be
 * edited (by id, or by its title) when the edit makes it valid; otherwise the edit is refused
 * naming the field still at fault.
 */
export function modifyFlag(ref: FlagRef, patchOf: PatchFn): RulesetEdit {
  return (current, ctx) => {
    const flags = requireRuleset(current, ctx);
    const invalid = findInvalid(flags, ref, ctx);
    if (invalid !== undefined) return fixInvalidFlag(flags, invalid, patchOf, ctx);
    const index = findFlag(flags, ref, ctx.appId);
    const flag = flags[index];
    if (flag === undefined)
      throw new UnknownFlagError(
        ctx.appId,
        ref,
        flags.map((f) => f.title),
      );
    const patch = patchOf(flag, ctx);
    const title = patch.title;
    if (typeof title === 'string' && title !== flag.title) {
      const other = flags.find((f) => f.title === title);
      if (other) throw new DuplicateTitleError(ctx.appId, title, other.id);
    }
    const next = applyPatch(flag, patch);
    if (deepEqual(next, flag)) return { flags, changed: false, flag };
    next.updated_at = ctx.nowIso;
    checkFlag(ctx.appId, next, flag.title);
    const out = flags.slice();
    out[index] = next;
    return { flags: out, changed: true, flag: next };
  };
}

/** The invalid flag `ref` names, when no valid flag answers to it. */
function findInvalid(flags: readonly WireFlag[], ref: FlagRef, ctx: EditContext): InvalidFlag | undefined {
  const valid = typeof ref === 'number' ? flags.some((f) => f.id === ref) : flags.some((f) => f.title === ref);
  return valid ? undefined : findInvalidFlag(ctx.invalidFlags ?? [], ref);
}

function fixInvalidFlag(
  flags: readonly WireFlag[],
  invalid: InvalidFlag,
  patchOf: PatchFn,
  ctx: EditContext,
): EditResult {
  const name = invalid.title !== undefined && invalid.title.trim() !== '' ? invalid.title : `#${invalid.id ?? '?'}`;
  const raw = invalid.raw;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new InvalidFlagValueError(ctx.appId, name, '(flag)', raw, 'is not a flag object; delete it instead');
  }
  const base = raw as WireFlag;
  const patch = patchOf(base, ctx);
  const title = patch.title;
  if (typeof title === 'string') {
    const other = flags.find((f) => f.title === title);
    if (other) throw new DuplicateTitleError(ctx.appId, title, other.id);
  }
  const next = applyPatch(base, patch);
  next.updated_at = ctx.nowIso;
  checkFlag(ctx.appId, next, name, 'is still invalid after this edit: ');
  return { flags: [...flags, next], changed: true, flag: next, fixed: invalid.index };
}

/** `flag` with `patch` over it; a field patched to undefined is removed. */
function applyPatch(flag: WireFlag, patch: Partial<Record<string, unknown>>): WireFlag {
  const next: WireFlag = { ...flag, ...patch };
  for (const [field, value] of Object.entries(patch)) if (value === undefined) delete next[field];
  return next;
}

function stringField(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function requireRuleset(current: readonly WireFlag[] | undefined, ctx: EditContext): readonly WireFlag[] {
  if (current === undefined) throw new UnknownAppError(ctx.appId, ctx.stream);
  return current;
}

/** Index of the flag named by title (string) or id (number); throws `UnknownFlagError`. */
export function findFlag(flags: readonly WireFlag[], ref: FlagRef, appId: number): number {
  const index =
    typeof ref === 'number' ? flags.findIndex((f) => f.id === ref) : flags.findIndex((f) => f.title === ref);
  if (index < 0)
    throw new UnknownFlagError(
      appId,
      ref,
      flags.map((f) => f.title),
    );
  return index;
}

/**
 * The defined entries of a patch, checked against the fields it may hold. `id`, `app_id` and the
 * timestamps are the library's to set; any other unknown name is most likely a typo.
 */
function cleanPatch(
  appId: number,
  flag: string,
  patch: object,
  allowed: readonly string[],
): Partial<Record<string, unknown>> & FlagPatch {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) {
    throw new InvalidFlagValueError(
      appId,
      flag,
      '(patch)',
      patch,
      `must be an object of fields, got ${describeValue(patch)}`,
    );
  }
  const out: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    if (MANAGED_FIELDS.includes(field)) {
      throw new InvalidFlagValueError(appId, flag, field, value, 'is set by the admin library and cannot be changed');
    }
    if (!allowed.includes(field)) {
      throw new InvalidFlagValueError(
        appId,
        flag,
        field,
        value,
        `is not a field that can be set here (fields: ${allowed.join(', ')})`,
      );
    }
    out[field] = value;
  }
  return out;
}

/**
 * Validates one flag as the SDK would; the first problem becomes an `InvalidFlagValueError` naming
 * the flag by `name` (its title before the edit, so a bad new title does not hide which flag it is).
 */
function checkFlag(appId: number, flag: WireFlag, name: string = flag.title, prefix = ''): void {
  const parsed = parseRuleset([flag], `flag ${describeFlagRef(flag.title)}`, { appId });
  if (parsed.ok) return;
  const [issue, ...more] = parsed.error.issues;
  const field = issue?.field ?? '(flag)';
  const also = more.map((m) => `${m.field ?? '(flag)'} ${m.message}`);
  const problem = `${prefix}${issue?.message ?? parsed.error.message}${also.length > 0 ? `; also ${also.join('; ')}` : ''}`;
  throw new InvalidFlagValueError(appId, name, field, valueAt(flag, field), problem);
}

/** The value at a field path such as `rules[1].clauses[0].op`; undefined when it is not there. */
function valueAt(flag: WireFlag, path: string): unknown {
  let value: unknown = flag;
  for (const part of path.split(/[.[\]]+/).filter((p) => p !== '')) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

function checkUsers(appId: number, flag: string, users: readonly string[]): string[] {
  if (!Array.isArray(users) || users.length === 0) {
    throw new InvalidFlagValueError(
      appId,
      flag,
      'white_listed_users',
      users,
      `needs at least one user context, got ${describeValue(users)}`,
    );
  }
  return users.map((user: unknown) => {
    if (typeof user !== 'string' || user.trim() === '' || /[,\s]/.test(user.trim())) {
      throw new InvalidFlagValueError(
        appId,
        flag,
        'white_listed_users',
        user,
        `takes user contexts that are non-empty strings without commas or spaces, got ${describeValue(user)}`,
      );
    }
    return user.trim();
  });
}

/** `white_listed_users` as the wire wants it: comma-separated, no spaces, no empty entries. */
function normalizeWhitelist(value: string): string {
  return splitWhitelist(value).join(',');
}
