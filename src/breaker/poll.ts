/**
 * One poll: per watched app, ONE read of its flags' windows from Redis, the pure rules of
 * decide.ts on each flag, then the transitions handed to the mode's writer. Without Redis, no
 * decision at all: every circuit is held as it is until Redis answers again.
 */
import { errorMessage } from '../nats/errors';
import type { AppWithRuleset, WatchedApps } from './apps';
import { decide, needsSignals, windowStartMs } from './decide';
import type { ResolvedBreakerOptions } from './options';
import type { SignalBackend } from './signal-backend';
import type { BreakerSignals, FlagWindow } from './signals';
import type { SkewGuard } from './skew';
import type { RedisTrouble } from './trouble';
import type { CircuitWriter, Planned } from './writers/writer';

/** What one poll did (for dashboards and the benchmark). */
export interface PollReport {
  readonly atMs: number;
  readonly durationMs: number;
  readonly apps: number;
  readonly flags: number;
  /** Flags whose signals were read. */
  readonly judged: number;
  readonly transitions: number;
  /** True when Redis could not be read: every circuit was held as it was. */
  readonly held: boolean;
  /** Signal keys that could not be counted (wrong type, not a number, mislabelled): their flags were held. */
  readonly badKeys: number;
}

/** What a poll works with: the breaker's parts, as they are once started. */
export interface PollContext {
  readonly options: ResolvedBreakerOptions;
  readonly apps: WatchedApps;
  readonly signals: SignalBackend;
  readonly writer: CircuitWriter;
  readonly skew: SkewGuard;
  readonly redis: RedisTrouble;
  /** True once the breaker stops: no write is started from then on. */
  readonly isStopped: () => boolean;
}

/** Counted across the apps of one poll, also when reading fails halfway (the report says so). */
interface Tally {
  flags: number;
  judged: number;
  badKeys: number;
}

export function emptyReport(atMs: number): PollReport {
  return { atMs, durationMs: 0, apps: 0, flags: 0, judged: 0, transitions: 0, held: false, badKeys: 0 };
}

/** Runs one poll at `nowMs` (the breaker's clock); `started` is `performance.now()` at its start. */
export async function runPoll(ctx: PollContext, nowMs: number, started: number): Promise<PollReport> {
  await ctx.apps.refreshIfDue();
  const apps = ctx.apps.withRulesets();
  const tally: Tally = { flags: 0, judged: 0, badKeys: 0 };
  const plans = new Map<number, Planned[]>();
  let held = false;
  try {
    const signals = await ctx.signals.reader();
    await Promise.all(apps.map((app) => planApp(ctx, signals, app, nowMs, tally, plans)));
    // Nothing needed signals (every watched circuit open, say): Redis must still answer, or
    // those circuits are held too.
    if (tally.judged === 0) await ctx.signals.ping();
    ctx.redis.resolved();
  } catch (err) {
    // No decision on missing data: every circuit stays as it is until Redis answers again.
    held = true;
    plans.clear();
    ctx.redis.problem(errorMessage(err));
  }

  let transitions = 0;
  for (const [appId, planned] of plans) {
    if (ctx.isStopped()) break;
    transitions += await ctx.writer.publish(appId, planned, nowMs);
  }
  return {
    atMs: nowMs,
    durationMs: performance.now() - started,
    apps: apps.length,
    flags: tally.flags,
    judged: tally.judged,
    transitions,
    held,
    badKeys: tally.badKeys,
  };
}

/** Reads one app's signals and plans its transitions (into `plans`, when there are any). */
async function planApp(
  ctx: PollContext,
  signals: BreakerSignals,
  [appId, state]: AppWithRuleset,
  nowMs: number,
  tally: Tally,
  plans: Map<number, Planned[]>,
): Promise<void> {
  const { options, skew, writer } = ctx;
  const flags = state.flags.map((flag) => skew.view(appId, flag, nowMs));
  tally.flags += flags.length;
  const windows: FlagWindow[] = [];
  for (const flag of flags)
    if (needsSignals(flag)) windows.push({ flagId: flag.id, fromMs: windowStartMs(flag, nowMs, options.windowMs) });
  tally.judged += windows.length;
  const { counts, bad } = await signals.counts(appId, windows, nowMs);
  tally.badKeys += bad.length;
  // A flag with a bad key is held: no trip, and no time-driven step either, since whether
  // it should trip instead cannot be told.
  const heldFlags = state.badKeys.update(bad);
  const fromOf = new Map(windows.map((w) => [w.flagId, w.fromMs]));
  const planned: Planned[] = [];
  for (const flag of flags) {
    if (heldFlags.has(flag.id) || writer.awaits(appId, flag, nowMs)) continue;
    const flagCounts = counts.get(flag.id);
    const decision = decide(flag, flagCounts, nowMs, options);
    if (decision) planned.push({ flag, decision, counts: flagCounts, fromMs: fromOf.get(flag.id) });
  }
  if (planned.length > 0) plans.set(appId, planned);
}
