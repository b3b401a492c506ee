/**
 * One bad key costs only its own flag. A plain string where a flag's signal hash should be, a
 * field that is not a number, or a TimeSeries series whose labels name another flag than its key:
 * before, any of these failed the whole app's read (WRONGTYPE, a Lua error) and every circuit of
 * the app was held. Now the read names the bad keys, their flags are held and the others judged.
 * Pure helpers here; the reads are in signals-native.ts and signals-timeseries.ts, the reporting
 * in apps.ts (one log per app).
 */

/** A key that could not be counted. */
export interface BadKey {
  /** The flag held because of it; undefined when it names none of the flags read. */
  readonly flagId: number | undefined;
  readonly key: string;
  /** What is wrong with it, for people: `holds a string, not a hash`. */
  readonly reason: string;
}

/** Longest stored value quoted in a reason: the log line stays one short line. */
const MAX_QUOTED = 40;

/** The reason of a native signal key of another type than a hash (`type` as TYPE says it). */
export function wrongTypeReason(type: string): string {
  return `holds a ${type}, not a hash`;
}

/** The reason of a hash field whose value is not a count. */
export function notANumberReason(field: string, value: string): string {
  const quoted = value.length > MAX_QUOTED ? `${value.slice(0, MAX_QUOTED)}…` : value;
  return `field ${field} holds ${JSON.stringify(quoted)}, not a number`;
}

/**
 * A stored count, or undefined when it is not a finite number. `Number('')` and `Number(' ')` are
 * 0, but an empty field is not a count the SDK wrote (HINCRBY writes integers), so it is refused.
 */
export function parseCount(raw: string): number | undefined {
  if (raw.trim() === '') return undefined;
  const n = Number(raw);
  return Number.isFinite(n) ? n : undefined;
}

/** What a `TS.MRANGE` series stands for, after its key name has been compared with its labels. */
export type SeriesIdentity =
  | { readonly kind: 'signal'; readonly flagId: number; readonly status: 'success' | 'failure' }
  | { readonly kind: 'bad'; readonly flagIds: readonly number[]; readonly reason: string }
  | { readonly kind: 'other' };

const SIGNAL_KEY = /^(\d+):(success|failure)$/u;

/**
 * Compares a series' key (`<flagId>:<status>`, the name Tower and the breaker count by) with its
 * `flagId` and `status` labels (the SignalReader and other readers filter by those). A label that
 * is absent is no contradiction: a series written by another tool may carry only `appId`. A
 * mismatch is `bad`, listing the flags named by the key and by the labels; a key that is no signal
 * key and whose labels name no flag is `other` (not ours to judge, ignored as before).
 */
export function seriesIdentity(key: string, labels: ReadonlyMap<string, string>): SeriesIdentity {
  const labelFlag = labels.get('flagId');
  const labelStatus = labels.get('status');
  const labelFlagId = labelFlag !== undefined && /^\d+$/u.test(labelFlag) ? Number(labelFlag) : undefined;
  const match = SIGNAL_KEY.exec(key);
  if (match === null) {
    if (labelFlagId === undefined) return { kind: 'other' };
    return {
      kind: 'bad',
      flagIds: [labelFlagId],
      reason: `its labels say flagId ${labelFlag ?? ''} but its name is not <flagId>:success or <flagId>:failure`,
    };
  }
  const flagId = Number(match[1]);
  const status = match[2] === 'success' ? 'success' : 'failure';
  const wrong: string[] = [];
  if (labelFlag !== undefined && labelFlag !== String(flagId)) wrong.push(`flagId ${labelFlag}`);
  if (labelStatus !== undefined && labelStatus !== status) wrong.push(`status ${labelStatus}`);
  if (wrong.length === 0) return { kind: 'signal', flagId, status };
  return {
    kind: 'bad',
    flagIds: labelFlagId === undefined || labelFlagId === flagId ? [flagId] : [flagId, labelFlagId],
    reason: `its name says flag ${flagId} ${status} but its labels say ${wrong.join(', ')}; counted for neither`,
  };
}

/**
 * Says each bad key once: when it is first seen (or its reason changes), and once more when it is
 * no longer bad (fixed, deleted, or out of every window), so that a later break is said again.
 * One per app; fed with each successful read of the app, never with a failed one.
 */
export class BadKeyLog {
  private known = new Map<string, BadKey>();

  constructor(
    private readonly onBad: (bad: BadKey) => void,
    /** `stillHeld`: the flag has another bad key, so it is not judged yet. */
    private readonly onFixed: (key: string, flagId: number | undefined, stillHeld: boolean) => void,
  ) {}

  /** Notes this read's bad keys; returns the flags to hold. */
  update(bad: readonly BadKey[]): Set<number> {
    const now = new Map<string, BadKey>();
    const held = new Set<number>();
    for (const entry of bad) {
      now.set(entry.key, entry);
      if (entry.flagId !== undefined) held.add(entry.flagId);
      const before = this.known.get(entry.key);
      if (before === undefined || before.reason !== entry.reason || before.flagId !== entry.flagId) this.onBad(entry);
    }
    for (const [key, entry] of this.known)
      if (!now.has(key)) this.onFixed(key, entry.flagId, entry.flagId !== undefined && held.has(entry.flagId));
    this.known = now;
    return held;
  }

  get size(): number {
    return this.known.size;
  }
}
