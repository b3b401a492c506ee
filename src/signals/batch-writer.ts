/**
 * The write of one batch and the settlement of its outcome. A batch gets a random id and goes as
 * one Lua script (one per hash slot on a Redis Cluster) that sets the batch's marker and applies it
 * only if the marker was new (batch-script.ts); where Redis refuses scripts, as MULTI/EXEC (at least
 * once; one warning). When every group is answered the batch is settled: written, refused (dropped)
 * or given back to the buffer command by command. A batch not answered is kept aside (in-doubt.ts)
 * and resent first with its id, after a PING if the send timed out. Every count moves through the
 * ledger (ledger.ts: accepted = written + pending + dropped + unknown). The write loop that calls
 * this is the sink's (sink.ts).
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../logger';
import type { PlannedCommand, WriteBackend } from './backend';
import { Batch, sendMulti, sendScript, type BatchGroup } from './batch';
import { isCommandTimeout, isScriptRefused, RESEND_HORIZON_MS } from './batch-script';
import type { BufferEntry, SignalBuffer } from './buffer';
import { InDoubt } from './in-doubt';
import type { Flight, SignalLedger } from './ledger';
import type { OnceLog } from './once-log';
import { COMMAND_TIMEOUT_MS, type RedisConnection } from './redis-connection';
import { describeError, isPermissionError } from './redis-errors';
import { settleFailure, settleReplies } from './settle';

/** What the writer needs of the sink that runs it. */
export interface WriterHost {
  /** Past the last flush: nothing is resent or given back any more. */
  isFinalStage(): boolean;
  enterOutage(reason: string): void;
  exitOutage(): void;
}

export interface BatchWriterDeps {
  readonly buffer: SignalBuffer;
  readonly ledger: SignalLedger;
  readonly logger: Logger;
  readonly once: OnceLog;
  readonly host: WriterHost;
  readonly retentionMs: number;
  /** The host clock: sample ages and block expiries (batch ages use Date.now()). */
  readonly clock: () => number;
}

export class BatchWriter {
  private readonly doubt = new InDoubt();
  /** Batches go as the idempotent script; false once Redis refused it (MULTI/EXEC then). */
  private scripts = true;
  /** The last send timed out: probe with PING before resending. */
  private hung = false;
  private readonly buffer: SignalBuffer;
  private readonly ledger: SignalLedger;
  private readonly logger: Logger;
  private readonly once: OnceLog;
  private readonly host: WriterHost;

  constructor(private readonly deps: BatchWriterDeps) {
    this.buffer = deps.buffer;
    this.ledger = deps.ledger;
    this.logger = deps.logger;
    this.once = deps.once;
    this.host = deps.host;
  }

  /** A batch is kept aside, to be resent before anything new. */
  get inDoubt(): boolean {
    return this.doubt.current !== undefined;
  }

  /** Plans and sends one new batch. Returns false when writing should stop for now. */
  async write(connection: RedisConnection, backend: WriteBackend, taken: BufferEntry[]): Promise<boolean> {
    const now = this.deps.clock();
    const entries = this.dropExpired(backend, taken, now);
    if (entries.length === 0) return true;
    let commands: PlannedCommand[];
    try {
      commands = backend.plan(entries, now);
    } catch (error) {
      const n = this.buffer.discard(entries);
      this.logger.error(`Signals: could not build the write of ${n} events (${describeError(error)}); dropped`);
      return true;
    }
    const batch = new Batch(randomUUID(), entries, commands, countEvents(entries), Date.now(), connection.cluster);
    return this.send(connection, batch, this.ledger.launch(batch.events));
  }

  /**
   * Resends the batch kept aside, if any, before anything new. Past the resend horizon its marker
   * may be gone, so it is not resent: counted as unknown. Returns false when writing should stop.
   */
  async resendDoubt(connection: RedisConnection): Promise<boolean> {
    const kept = this.doubt.current;
    if (!kept) return true;
    if (this.scripts && this.doubt.pastHorizon(Date.now())) {
      this.doubt.take();
      this.ledger.land(kept.flight);
      this.ledger.unknown += kept.flight.events;
      this.logger.warn(
        `Signals: a batch of ${kept.flight.events} events was sent ${Math.round(RESEND_HORIZON_MS / 60_000)}+ min ago ` +
          'and never answered; not resent, as Redis may have applied it and forgotten its marker (counted as unknown)',
      );
      return true;
    }
    // After a timeout, ask with a PING first: resending a whole batch to a Redis that still hangs
    // would pile copies of it up in the socket.
    if (this.hung) {
      try {
        await connection.client.call('PING');
      } catch (error) {
        if (isCommandTimeout(error)) this.ledger.timeouts += 1;
        return false;
      }
    }
    return this.send(connection, kept.batch, kept.flight);
  }

  /** Past the last flush: a batch kept aside that never reached Redis is dropped, else unknown. */
  settleDoubtAtClose(): void {
    const kept = this.doubt.take();
    if (!kept) return;
    this.ledger.land(kept.flight);
    if (kept.batch.maybeApplied) this.ledger.unknown += kept.flight.events;
    else this.buffer.discard(kept.batch.entries);
  }

  /**
   * Sends the groups of `batch` not answered yet, all at once. Settles the batch when every group
   * is answered; otherwise keeps it aside verbatim to be resent first, with the same id.
   * Returns false when writing should stop for now.
   */
  private async send(connection: RedisConnection, batch: Batch, flight: Flight): Promise<boolean> {
    this.doubt.release(batch);
    const open = batch.groups.filter((g) => g.replies === undefined);
    const failures = await Promise.all(open.map((group) => this.sendGroup(connection, group)));
    const failure = failures.find((f) => f !== undefined);
    if (batch.answered) {
      this.ledger.land(flight);
      return this.settle(batch, flight);
    }
    if (this.host.isFinalStage() || flight.abandoned) {
      // Nothing is resent past the last flush: what may have run is unknown, the rest dropped.
      this.ledger.land(flight);
      if (!flight.abandoned) {
        if (batch.maybeApplied) this.ledger.unknown += flight.events;
        else this.buffer.discard(batch.entries);
      }
      return false;
    }
    this.doubt.keep(batch, flight);
    this.host.enterOutage(
      failure !== undefined && isCommandTimeout(failure)
        ? `no answer within ${COMMAND_TIMEOUT_MS} ms (command timeout: Redis hangs or is overloaded)`
        : describeError(failure),
    );
    return false;
  }

  /** Sends one group; fills in its replies when answered. Resolves with the error when not. Never rejects. */
  private async sendGroup(connection: RedisConnection, group: BatchGroup): Promise<unknown> {
    try {
      group.replies = this.scripts
        ? await sendScript(connection.client, group)
        : await sendMulti(connection.client, group);
      return undefined;
    } catch (error) {
      if (this.scripts && isScriptRefused(error)) {
        // Nothing ran: from now on MULTI/EXEC, at least once (docs/signals.md, "Idempotent batches").
        this.scripts = false;
        this.logger.warn(
          `Signals: Redis refused the batch script (${describeError(error)}); writing with MULTI/EXEC instead, ` +
            'which is not idempotent: a batch whose reply is lost (Redis killed or hung) may be counted twice. ' +
            'Allow EVAL, EVALSHA and SET to the signal user to make batches exact (docs/signals.md)',
        );
        return this.sendGroup(connection, group);
      }
      if (isCommandTimeout(error)) {
        this.ledger.timeouts += 1;
        this.hung = true;
      }
      const outcome = settleFailure(error);
      if (outcome === 'refused') {
        // Nothing ran: each command answers with the refusal, so settling drops its entries.
        const refusal = error instanceof Error ? error : new Error(String(error));
        group.replies = group.commands.map(() => [refusal, null]);
        return undefined;
      }
      if (outcome === 'in-doubt') group.maybeRun = true;
      return error;
    }
  }

  /** Every group answered: counts what was written, drops what was refused, gives back what may pass. */
  private settle(batch: Batch, flight: Flight): boolean {
    const settled = settleReplies(batch.entries, batch.commands, batch.replies());
    if (flight.abandoned) this.ledger.unknown -= flight.events;
    this.hung = false;
    for (const entry of settled.written) this.ledger.written += entry.count;
    for (const error of settled.housekeeping)
      this.once.warn(
        `housekeeping:${error.message}`,
        `Signals: a housekeeping command failed (${error.message}); events were written`,
      );
    if (settled.refused.length > 0) {
      this.buffer.discard(settled.refused.map((r) => r.entry));
      for (const { error } of settled.refused) this.refused(error, `Redis refused a write (${error.message})`);
    }
    if (settled.retry.length > 0) {
      // These commands failed inside an answered batch: they did not run, so a new batch may carry them.
      this.giveBack(settled.retry, flight);
      this.host.enterOutage(settled.retryError?.message ?? 'Redis busy');
      return false;
    }
    this.host.exitOutage();
    return true;
  }

  private giveBack(entries: BufferEntry[], flight: Flight): void {
    if (this.host.isFinalStage() || flight.abandoned) this.buffer.discard(entries);
    else this.buffer.requeue(entries);
  }

  /** Entries older than the backend keeps data for are dropped before writing (native backend). */
  private dropExpired(backend: WriteBackend, batch: BufferEntry[], nowMs: number): BufferEntry[] {
    if (!backend.expired) return batch;
    const expired = batch.filter((entry) => backend.expired?.(entry, nowMs));
    if (expired.length === 0) return batch;
    const n = this.buffer.discard(expired);
    this.once.error(
      'expired',
      `Signals: dropped ${n} events older than the retention (${this.deps.retentionMs} ms) by the host clock; ` +
        'they would expire on arrival (further drops are counted in signalStats().dropped)',
    );
    return batch.filter((entry) => !expired.includes(entry));
  }

  /** Redis refused events for good: they are lost, which is an error (once per cause). */
  private refused(error: unknown, what: string): void {
    const hint = isPermissionError(error) ? ' (the Redis user lacks a permission: see docs/permissions.md)' : '';
    this.once.error(`refused:${describeError(error)}`, `Signals: ${what}; its events are dropped${hint}`);
  }
}

function countEvents(batch: readonly BufferEntry[]): number {
  let n = 0;
  for (const entry of batch) n += entry.count;
  return n;
}
