/**
 * The Redis signal sink: `record()` folds events into the buffer (synchronous, O(1), no I/O, never
 * throws); a background loop writes them in batches every `flushIntervalMs`, early when `batchSize`
 * events wait, and on `flush()`/`close()`. One flush at a time.
 *
 * Each batch has a random id and goes as one Lua script (one per hash slot on a Redis Cluster) that
 * sets the batch's marker key and applies the batch only if the marker was new (batch-script.ts): a
 * batch whose answer was lost (Redis killed after applying it, a command timeout) is kept aside
 * verbatim and resent first, with its id, and Redis answers `duplicate` if it had applied it. So
 * Redis holds each batch at most once. Where Redis refuses scripts, batches go as MULTI/EXEC (at
 * least once; one warning).
 *
 * While Redis is unreachable events wait in the buffer (bounded in events, oldest dropped and
 * counted); a batch that did not run goes back into it. One warning per outage (a hang, noticed by
 * the command timeout, is one), one info line when Redis is back. Design: docs/signals.md.
 *
 * Invariant, at any time: accepted = written + pending + dropped + unknown, where
 * - written: acknowledged by Redis (a `duplicate` answer is an acknowledgement: Redis had it);
 * - pending: in the buffer, in a batch sent and not yet answered, or in the batch kept aside;
 * - dropped: never written (buffer bound, refused by Redis, older than the retention, module
 *   missing, or not sent when close() gave up);
 * - unknown: sent and never answered, and not to be resent: close() gave up on it, or it was in doubt
 *   past the resend horizon (its marker may be gone). Redis may hold it (once).
 * So what Redis holds lies between written and written + unknown (with scripts).
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../logger';
import type { ResolvedSignalOptions } from '../options';
import { settleWithin } from '../util/timeout';
import type { PlannedCommand, WriteBackend } from './backend';
import { BackendChoice } from './backend-choice';
import { SignalBuffer, type BufferEntry } from './buffer';
import { Batch, sendMulti, sendScript, type BatchGroup } from './batch';
import { isCommandTimeout, isScriptRefused, RESEND_HORIZON_MS } from './batch-script';
import { checkEvent, type EventInput } from './event';
import { OutageLog } from './outage-log';
import { COMMAND_TIMEOUT_MS, openSignalConnection, type SignalConnection } from './redis-connection';
import { describeError, isCredentialsError, isPermissionError } from './redis-errors';
import { SeriesRegistry } from './series-registry';
import { settleFailure, settleReplies } from './settle';
import type { SignalSink, SignalStats, SignalStatus, Variant } from './types';

/** Most folded samples sent in one MULTI/EXEC. */
export const MAX_ENTRIES_PER_WRITE = 1_000;
/** Distinct bad inputs warned about, at most. */
const WARN_LIMIT = 100;

/**
 * The sink's lifecycle, one value:
 * - `off`: backend 'off', records nothing;
 * - `idle`: created, `start()` not called: events are buffered;
 * - `running`: connected or connecting, writing in the background;
 * - `closing`: `close()` called: no new events, the last flush runs;
 * - `final`: past the last flush: what fails now is dropped (or unknown), never given back;
 * - `closed`: the connection is closed.
 */
export type SinkState = 'off' | 'idle' | 'running' | 'closing' | 'final' | 'closed';

/** A batch sent and not answered yet. `abandoned`: close() counted it as unknown. */
interface Flight {
  readonly events: number;
  abandoned: boolean;
}

export class RedisSignalSink implements SignalSink {
  private state: SinkState;
  private readonly buffer: SignalBuffer;
  private connection: SignalConnection | undefined;
  private readonly choice: BackendChoice | undefined;

  private closing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private flushAgain = false;
  private earlyFlushScheduled = false;
  private readonly earlyFlushAt: number;

  private written = 0;
  private unknown = 0;
  private timeouts = 0;
  /** The batch sent and not answered (in doubt), kept verbatim to be resent first with its id. */
  private doubt: { readonly batch: Batch; readonly flight: Flight } | undefined;
  /** Batches go as the idempotent script; false once Redis refused it (MULTI/EXEC then). */
  private scripts = true;
  /** The last send timed out: probe with PING before resending. */
  private hung = false;
  private readonly flights = new Set<Flight>();
  private inFlightEvents = 0;
  /** Events dropped outside the buffer (module missing, older than the retention). */
  private droppedOutside = 0;
  private readonly outage: OutageLog;
  private readonly series = new SeriesRegistry();
  private readonly tokenOf = (eventName: unknown): string | undefined => this.series.token(eventName);
  private readonly warned = new Set<string>();

  /** @param clock the host clock (injectable for tests of clock skew) */
  constructor(
    private readonly options: ResolvedSignalOptions,
    private readonly logger: Logger,
    private readonly clock: () => number = Date.now,
  ) {
    this.buffer = new SignalBuffer(options.bufferLimit);
    // Write early at the batch size, or at half the buffer bound if that comes first, so a bound
    // smaller than a batch never drops events while Redis is healthy.
    this.earlyFlushAt = Math.max(1, Math.min(options.batchSize, Math.ceil(options.bufferLimit / 2)));
    this.outage = new OutageLog(logger, options.bufferLimit);
    this.state = options.backend === 'off' ? 'off' : 'idle';
    this.choice =
      options.backend === 'off' ? undefined : new BackendChoice(options.backend, options.retentionMs, logger);
  }

  get lifecycle(): SinkState {
    return this.state;
  }

  start(): Promise<void> {
    if (this.state === 'idle') this.open();
    return Promise.resolve();
  }

  private open(): void {
    this.state = 'running';
    try {
      const connection = openSignalConnection(
        this.options.redis,
        (error) => this.onClientError(error),
        (message) => this.logger.debug(`Signals: ${message}`),
        COMMAND_TIMEOUT_MS,
      );
      this.connection = connection;
      connection.on('ready', () => this.onReady());
      // The outage starts when the socket goes, not at the next write or reconnect attempt, so that
      // its warning, duration and "dropped during the outage" count cover all of it.
      connection.on('close', () => this.enterOutage('connection closed'));
      this.timer = setInterval(() => this.requestFlush(), this.options.flushIntervalMs);
      this.timer.unref();
      connection.connect();
      if (connection.ready) this.requestFlush();
    } catch (error) {
      this.logger.error(
        `Signals: could not set up the Redis client (${describeError(error)}); signals will not be written`,
      );
    }
  }

  record(flagId: number, appId: number, status: SignalStatus, atMs: number): void {
    this.accept({ kind: 'signal', flagId, appId, status }, atMs);
  }

  recordMetric(flagId: number, appId: number, eventName: string, variant: Variant, value: number, atMs: number): void {
    this.accept({ kind: 'metric', flagId, appId, eventName, variant, value }, atMs);
  }

  stats(): SignalStats {
    return {
      backend: this.choice?.name ?? 'off',
      written: this.written,
      pending: this.buffer.pending + this.inFlightEvents,
      dropped: this.buffer.dropped + this.droppedOutside,
      unknown: this.unknown,
      timeouts: this.timeouts,
    };
  }

  async flush(timeoutMs: number = this.options.flushTimeoutMs): Promise<void> {
    if (this.state !== 'running' && this.state !== 'closing') return;
    const deadline = Date.now() + Math.max(0, timeoutMs);
    try {
      const connection = this.connection;
      if (connection && !connection.ready && !this.outage.active)
        await connection.waitReady(Math.max(0, deadline - Date.now()));
      await settleWithin(this.runFlush(), Math.max(0, deadline - Date.now()), 'lets-process-exit');
    } catch {
      // flush never rejects; trouble was logged where it happened
    }
  }

  close(): Promise<void> {
    if (!this.closing) this.closing = this.doClose();
    return this.closing;
  }

  // --- accepting -----------------------------------------------------------------------------

  /** The one way in for events: validate, fold into the buffer, maybe write early. Never throws. */
  private accept(input: EventInput, atMs: number): void {
    if (this.state !== 'idle' && this.state !== 'running') return;
    try {
      const event = checkEvent(input, this.tokenOf);
      if (!event.ok) {
        this.warnOnce(event.key, event.message);
        return;
      }
      if (this.choice?.missing) {
        this.droppedOutside += 1;
        return;
      }
      const at = this.timestamp(atMs);
      if (event.kind === 'signal') this.buffer.add(this.series.signal(event.flagId, event.appId, event.status), at);
      else
        this.buffer.add(this.series.metric(event.flagId, event.appId, event.token, event.variant), at, 1, event.value);
      this.maybeFlushEarly();
    } catch (error) {
      this.warnOnce('record-failed', `Signals: recording failed (${describeError(error)})`);
    }
  }

  /** A usable sample time: the given ms when it is one, now otherwise. */
  private timestamp(atMs: number): number {
    return typeof atMs === 'number' && Number.isFinite(atMs) && atMs >= 0 ? Math.floor(atMs) : this.clock();
  }

  // --- closing -------------------------------------------------------------------------------

  private async doClose(): Promise<void> {
    const started = this.state === 'running';
    if (this.state === 'off') {
      this.state = 'closed';
      return;
    }
    this.state = 'closing';
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    try {
      if (started) await this.flush(this.options.flushTimeoutMs);
      this.state = 'final';
      this.settleDoubtAtClose();
      const left = this.buffer.pending;
      if (left > 0) {
        this.buffer.dropAll();
        this.logger.warn(
          `Signals: ${left} events were not written before close (Redis unreachable or flush timed out); dropped`,
        );
      }
      const unanswered = this.abandonFlights();
      if (unanswered > 0) {
        this.logger.warn(
          `Signals: ${unanswered} events were sent to Redis and not acknowledged within the flush timeout ` +
            `(${this.options.flushTimeoutMs} ms); Redis may still store them (counted as unknown, not dropped)`,
        );
      }
      await this.connection?.close();
    } catch (error) {
      this.logger.error(`Signals: closing failed (${describeError(error)})`);
    } finally {
      this.state = 'closed';
    }
  }

  /** Counts every batch still waiting for Redis' answer as unknown. Returns how many events. */
  private abandonFlights(): number {
    let n = 0;
    for (const flight of this.flights) {
      if (flight.abandoned) continue;
      flight.abandoned = true;
      this.inFlightEvents -= flight.events;
      this.unknown += flight.events;
      n += flight.events;
    }
    return n;
  }

  // --- writing -------------------------------------------------------------------------------

  private maybeFlushEarly(): void {
    if (
      this.state !== 'running' ||
      this.outage.active ||
      this.earlyFlushScheduled ||
      this.buffer.pending < this.earlyFlushAt
    )
      return;
    this.earlyFlushScheduled = true;
    setImmediate(() => {
      this.earlyFlushScheduled = false;
      this.requestFlush();
    }).unref();
  }

  private requestFlush(): void {
    void this.runFlush();
  }

  private get finalStage(): boolean {
    return this.state === 'final' || this.state === 'closed';
  }

  /** Runs the write loop, or asks the running one to go round again. Never rejects. */
  private runFlush(): Promise<void> {
    if (this.flushing) {
      this.flushAgain = true;
      return this.flushing;
    }
    const run = async (): Promise<void> => {
      try {
        do {
          this.flushAgain = false;
          await this.drain();
        } while (this.flushAgain && !this.outage.active && !this.finalStage);
      } catch (error) {
        this.logger.error(`Signals: writing failed unexpectedly (${describeError(error)})`);
      } finally {
        this.flushing = undefined;
      }
    };
    this.flushing = run();
    return this.flushing;
  }

  /** Writes the entries held when it starts, in batches; stops at the first failure. */
  private async drain(): Promise<void> {
    // Decide the backend as soon as we are connected, so stats() and the log say which it is.
    const first = this.connection;
    if (first?.ready && this.choice && !this.choice.decided) await this.ensureBackend(first);
    let budget = this.buffer.size;
    while ((this.doubt || (budget > 0 && this.buffer.size > 0)) && !this.finalStage) {
      const connection = this.connection;
      if (!connection) return;
      if (!connection.ready) {
        this.notReady(connection);
        return;
      }
      const backend = await this.ensureBackend(connection);
      if (this.choice?.missing) {
        this.buffer.dropAll();
        return;
      }
      if (!backend) return;
      if (this.doubt) {
        if (!(await this.resendDoubt(connection))) return;
        continue;
      }
      const batch = this.buffer.take(Math.min(MAX_ENTRIES_PER_WRITE, budget));
      budget -= batch.length;
      if (!(await this.write(connection, backend, batch))) return;
    }
  }

  /** Plans and sends one new batch. Returns false when writing should stop for now. */
  private async write(connection: SignalConnection, backend: WriteBackend, taken: BufferEntry[]): Promise<boolean> {
    const now = this.clock();
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
    const flight: Flight = { events: batch.events, abandoned: false };
    this.flights.add(flight);
    this.inFlightEvents += flight.events;
    return this.send(connection, batch, flight);
  }

  /**
   * Sends the groups of `batch` not answered yet, all at once. Settles the batch when every group
   * is answered; otherwise keeps it aside verbatim (`doubt`) to be resent first, with the same id.
   * Returns false when writing should stop for now.
   */
  private async send(connection: SignalConnection, batch: Batch, flight: Flight): Promise<boolean> {
    if (this.doubt?.batch === batch) this.doubt = undefined;
    const open = batch.groups.filter((g) => g.replies === undefined);
    const failures = await Promise.all(open.map((group) => this.sendGroup(connection, group)));
    const failure = failures.find((f) => f !== undefined);
    if (batch.answered) {
      this.land(flight);
      return this.settle(batch, flight);
    }
    if (this.finalStage || flight.abandoned) {
      // Nothing is resent past the last flush: what may have run is unknown, the rest dropped.
      this.land(flight);
      if (!flight.abandoned) {
        if (batch.maybeApplied) this.unknown += flight.events;
        else this.buffer.discard(batch.entries);
      }
      return false;
    }
    this.doubt = { batch, flight };
    this.enterOutage(
      failure !== undefined && isCommandTimeout(failure)
        ? `no answer within ${COMMAND_TIMEOUT_MS} ms (command timeout: Redis hangs or is overloaded)`
        : describeError(failure),
    );
    return false;
  }

  /** Sends one group; fills in its replies when answered. Resolves with the error when not. Never rejects. */
  private async sendGroup(connection: SignalConnection, group: BatchGroup): Promise<unknown> {
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
        this.timeouts += 1;
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
    if (flight.abandoned) this.unknown -= flight.events;
    this.hung = false;
    for (const entry of settled.written) this.written += entry.count;
    for (const error of settled.housekeeping)
      this.warnOnce(
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
      this.enterOutage(settled.retryError?.message ?? 'Redis busy');
      return false;
    }
    this.exitOutage();
    return true;
  }

  /**
   * Resends the batch kept aside, if any, before anything new. Past the resend horizon its marker
   * may be gone, so it is not resent: counted as unknown. Returns false when writing should stop.
   */
  private async resendDoubt(connection: SignalConnection): Promise<boolean> {
    const doubt = this.doubt;
    if (!doubt) return true;
    if (this.scripts && doubt.batch.maybeApplied && Date.now() - doubt.batch.firstSentMs > RESEND_HORIZON_MS) {
      this.doubt = undefined;
      this.land(doubt.flight);
      this.unknown += doubt.flight.events;
      this.logger.warn(
        `Signals: a batch of ${doubt.flight.events} events was sent ${Math.round(RESEND_HORIZON_MS / 60_000)}+ min ago ` +
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
        if (isCommandTimeout(error)) this.timeouts += 1;
        return false;
      }
    }
    return this.send(connection, doubt.batch, doubt.flight);
  }

  /** Past the last flush: a batch kept aside that never reached Redis is dropped, else unknown. */
  private settleDoubtAtClose(): void {
    const doubt = this.doubt;
    if (!doubt) return;
    this.doubt = undefined;
    this.land(doubt.flight);
    if (doubt.batch.maybeApplied) this.unknown += doubt.flight.events;
    else this.buffer.discard(doubt.batch.entries);
  }

  /** The batch is answered (or failed): it is no longer in flight. */
  private land(flight: Flight): void {
    this.flights.delete(flight);
    if (!flight.abandoned) this.inFlightEvents -= flight.events;
  }

  private giveBack(batch: BufferEntry[], flight: Flight): void {
    if (this.finalStage || flight.abandoned) this.buffer.discard(batch);
    else this.buffer.requeue(batch);
  }

  /** Entries older than the backend keeps data for are dropped before writing (native backend). */
  private dropExpired(backend: WriteBackend, batch: BufferEntry[], nowMs: number): BufferEntry[] {
    if (!backend.expired) return batch;
    const expired = batch.filter((entry) => backend.expired?.(entry, nowMs));
    if (expired.length === 0) return batch;
    const n = this.buffer.discard(expired);
    this.errorOnce(
      'expired',
      `Signals: dropped ${n} events older than the retention (${this.options.retentionMs} ms) by the host clock; ` +
        'they would expire on arrival (further drops are counted in signalStats().dropped)',
    );
    return batch.filter((entry) => !expired.includes(entry));
  }

  /** Redis refused events for good: they are lost, which is an error (once per cause). */
  private refused(error: unknown, what: string): void {
    const hint = isPermissionError(error) ? ' (the Redis user lacks a permission: see docs/permissions.md)' : '';
    this.errorOnce(`refused:${describeError(error)}`, `Signals: ${what}; its events are dropped${hint}`);
  }

  /** The backend to write with, deciding it on first use; undefined when writing must wait or stop. */
  private async ensureBackend(connection: SignalConnection): Promise<WriteBackend | undefined> {
    const choice = this.choice;
    if (!choice || choice.missing) return undefined;
    const decision = await choice.decide(connection.client);
    if (decision.outcome === 'ready') return decision.backend;
    if (decision.outcome === 'unknown') this.enterOutage(decision.detail);
    return undefined;
  }

  // --- connection state ----------------------------------------------------------------------

  private onReady(): void {
    if (this.finalStage) return;
    // Forced TimeSeries without the module: accept events again and ask the (maybe new) server.
    this.choice?.reconnected();
    this.warned.delete('credentials');
    this.exitOutage();
    this.requestFlush();
  }

  private onClientError(error: Error): void {
    if (this.finalStage) return;
    if (isCredentialsError(error)) {
      this.errorOnce(
        'credentials',
        `Signals: Redis refused the credentials (${describeError(error)}); keeping up to ` +
          `${this.options.bufferLimit} events and trying again with a backoff up to 30 s until they are accepted`,
      );
      this.enterOutage(describeError(error), true);
      return;
    }
    this.enterOutage(describeError(error));
  }

  private notReady(connection: SignalConnection): void {
    const status = connection.status;
    if (status === 'wait') connection.connect();
    else if (status === 'reconnecting' || status === 'close' || status === 'end')
      this.enterOutage(`connection ${status}`);
  }

  private enterOutage(reason: string, quiet = false): void {
    if (!this.finalStage) this.outage.enter(reason, this.stats().dropped, quiet);
  }

  private exitOutage(): void {
    this.outage.exit(this.buffer.pending, this.stats().dropped);
  }

  // --- helpers -------------------------------------------------------------------------------

  private warnOnce(key: string, message: string): void {
    if (this.warned.has(key) || this.warned.size >= WARN_LIMIT) return;
    this.warned.add(key);
    this.logger.warn(message);
  }

  private errorOnce(key: string, message: string): void {
    if (this.warned.has(key) || this.warned.size >= WARN_LIMIT) return;
    this.warned.add(key);
    this.logger.error(message);
  }
}

function countEvents(batch: readonly BufferEntry[]): number {
  let n = 0;
  for (const entry of batch) n += entry.count;
  return n;
}
