/**
 * The batch in doubt: sent, and its answer never came (connection lost, command timeout), so Redis
 * may or may not have applied it. It is not put back in the buffer but kept aside verbatim (id,
 * entries, commands) to be resent first, with the same id, when Redis answers again: the marker
 * makes Redis answer `duplicate` if it had applied it (docs/signals.md, "Idempotent batches").
 * At most one: writing stops at the first batch in doubt until it is answered.
 */
import type { Batch } from './batch';
import { RESEND_HORIZON_MS } from './batch-script';
import type { Flight } from './ledger';

export interface KeptBatch {
  readonly batch: Batch;
  readonly flight: Flight;
}

export class InDoubt {
  private kept: KeptBatch | undefined;

  get current(): KeptBatch | undefined {
    return this.kept;
  }

  keep(batch: Batch, flight: Flight): void {
    this.kept = { batch, flight };
  }

  /** `batch` is being sent again: it is no longer kept aside (until that send fails too). */
  release(batch: Batch): void {
    if (this.kept?.batch === batch) this.kept = undefined;
  }

  /** Removes and returns the batch kept aside, if any. */
  take(): KeptBatch | undefined {
    const kept = this.kept;
    this.kept = undefined;
    return kept;
  }

  /**
   * Whether the kept batch may have run longer than the resend horizon ago: its marker may have
   * expired, so a resend could apply it twice.
   */
  pastHorizon(nowMs: number): boolean {
    const kept = this.kept;
    return kept !== undefined && kept.batch.maybeApplied && nowMs - kept.batch.firstSentMs > RESEND_HORIZON_MS;
  }
}
