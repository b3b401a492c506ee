/**
 * Standalone mode: the breaker publishes the app's whole updated ruleset on
 * `apps.<id>.update.circuit` through the admin library's guarded read-modify-write. The edit
 * re-reads the app's current ruleset and applies the decisions to it; a circuit someone else
 * changed since the poll looked is decided again on what is there now. So a human edit is never
 * lost and two breakers never double-step.
 */
import type { FlagAdmin } from '../../admin/flag-admin';
import type { RulesetEdit } from '../../admin/edits';
import { errorMessage } from '../../nats/errors';
import type { WireFlag } from '../../ruleset/types';
import { applyDecision, decide, sameCircuitState, windowStartMs, type Decision } from '../decide';
import type { CircuitWriter, Planned, WriterContext } from './writer';

/** Our own publish, newer than the ruleset followed so far: the app's state takes it at once. */
export type AdoptRuleset = (appId: number, flags: readonly WireFlag[], sequence: number) => void;

export class StandaloneWriter implements CircuitWriter {
  private writes: Promise<void> = Promise.resolve();

  constructor(
    private readonly admin: FlagAdmin,
    private readonly context: WriterContext,
    private readonly adopt: AdoptRuleset,
  ) {}

  publish(appId: number, planned: readonly Planned[]): Promise<number> {
    return this.enqueue(() => this.publishCircuit(appId, planned));
  }

  /** Nothing waits for a confirmation here: the guarded write either happened or did not. */
  awaits(): boolean {
    return false;
  }

  observe(): void {
    // Nothing to settle: the guard, not a pending list, keeps decisions from repeating.
  }

  settled(): Promise<void> {
    return this.writes.catch(() => undefined);
  }

  /** Writes go one at a time: the stream-wide guard would make our own writes conflict. */
  private enqueue(write: () => Promise<number>): Promise<number> {
    const result = this.writes.then(write, write);
    this.writes = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  private async publishCircuit(appId: number, planned: readonly Planned[]): Promise<number> {
    const { nats, report } = this.context;
    let applied: Array<{ flag: WireFlag; decision: Decision; at: number }> = [];
    const edit = this.edit(appId, planned, (done) => (applied = done));
    const what = `circuit ${planned.map((p) => `${p.decision.kind} #${p.flag.id}`).join(', ')}`;
    try {
      const outcome = await this.admin.applyCircuitEdit(appId, edit, what);
      nats.resolved('NATS writes succeed again');
      if (!outcome.published) return 0;
      if (outcome.sequence !== undefined) this.adopt(appId, outcome.flags, outcome.sequence);
      for (const { flag, decision, at } of applied) report(appId, flag, decision, at, outcome.sequence);
      return applied.length;
    } catch (err) {
      nats.problem(`app ${appId}: could not publish (${what}): ${errorMessage(err)}; retrying next poll`);
      return 0;
    }
  }

  /**
   * The read-modify-write edit: the plans applied to the current ruleset. It may run more than
   * once (the guard refused a write); `onApplied` gets what the last run applied.
   */
  private edit(
    appId: number,
    planned: readonly Planned[],
    onApplied: (applied: Array<{ flag: WireFlag; decision: Decision; at: number }>) => void,
  ): RulesetEdit {
    const { options, skew } = this.context;
    const byId = new Map(planned.map((p) => [p.flag.id, p]));
    return (current, ctx) => {
      const applied: Array<{ flag: WireFlag; decision: Decision; at: number }> = [];
      onApplied(applied);
      if (current === undefined) return { flags: [], changed: false };
      const at = Date.parse(ctx.nowIso);
      const flags = current.map((fresh) => {
        const plan = byId.get(fresh.id);
        if (plan === undefined) return fresh;
        let decision: Decision | undefined = plan.decision;
        const freshView = skew.view(appId, fresh, at);
        if (!sameCircuitState(plan.flag, freshView)) {
          // Someone else changed this circuit since we looked: decide again on what is there now,
          // with our counts only if they still cover this flag's window.
          const sameWindow =
            plan.fromMs !== undefined && windowStartMs(freshView, at, options.windowMs) === plan.fromMs;
          decision = decide(freshView, sameWindow ? plan.counts : undefined, at, options);
          if (decision?.kind === 'open' && !sameWindow) decision = undefined;
        }
        if (decision === undefined) return fresh;
        applied.push({ flag: fresh, decision, at });
        return applyDecision(fresh, decision, ctx.nowIso);
      });
      return { flags, changed: applied.length > 0 };
    };
  }
}
