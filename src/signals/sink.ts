/**
 * The Redis signal sink: `record()` folds events into the buffer (synchronous, O(1), no I/O, never
 * throws); a background loop writes them in MULTI/EXEC batches (one per hash slot on a Redis Cluster,
 * see slots.ts) every `flushIntervalMs`, early when
 * `batchSize` events wait, and on `flush()`/`close()`. One flush at a time.
 *
 * While Redis is unreachable events wait in the buffer (bounded in events, oldest dropped and
 * counted); a failed write puts its events back. One warning per outage, one info line when Redis is
 * back. Design and key layouts: docs/signals.md.
 *
 * Invariant, at any time: accepted = written + pending + dropped + unknown, where
 * - written: acknowledged by Redis;
 * - pending: in the buffer or in a batch sent and not yet answered;
 * - dropped: never written (buffer bound, refused by Redis, older than the retention, module
 *   missing, or still buffered when close() gave up);
 * - unknown: sent, and close() gave up waiting for the answer: Redis may still run the batch.
 */
import type { Logger } from '../logger';
import type { ResolvedSignalOptions } from '../options';
import { settleWithin } from '../util/timeout';
import type { PlannedCommand, WriteBackend } from './backend';
import { BackendChoice } from './backend-choice';
import { SignalBuffer, type BufferEntry } from './buffer';
import type { RedisExecReply } from './client';
import { checkEvent, type EventInput } from './event';
import { OutageLog } from './outage-log';
import { openSignalConnection, type SignalConnection } from './redis-connection';
import { describeError, isCredentialsError, isPermissionError } from './redis-errors';
import { SeriesRegistry } from './series-registry';
import { execPerSlot } from './slots';
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
    while (budget > 0 && this.buffer.size > 0 && !this.finalStage) {
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
      const batch = this.buffer.take(Math.min(MAX_ENTRIES_PER_WRITE, budget));
      budget -= batch.length;
      if (!(await this.write(connection, backend, batch))) return;
    }
  }

  /** Sends one batch. Returns false when writing should stop for now (the batch was given back). */
  private async write(connection: SignalConnection, backend: WriteBackend, taken: BufferEntry[]): Promise<boolean> {
    const now = this.clock();
    const batch = this.dropExpired(backend, taken, now);
    if (batch.length === 0) return true;
    let commands: PlannedCommand[];
    try {
      commands = backend.plan(batch, now);
    } catch (error) {
      const n = this.buffer.discard(batch);
      this.logger.error(`Signals: could not build the write of ${n} events (${describeError(error)}); dropped`);
      return true;
    }
    const flight: Flight = { events: countEvents(batch), abandoned: false };
    this.flights.add(flight);
    this.inFlightEvents += flight.events;
    let replies: RedisExecReply;
    try {
      if (connection.cluster) {
        replies = await execPerSlot(connection.client, commands);
      } else {
        const tx = connection.client.multi();
        for (const command of commands) tx.call(command.name, ...command.args);
        replies = await tx.exec();
      }
    } catch (error) {
      this.land(flight);
      return this.onWriteFailure(batch, flight, error);
    }
    this.land(flight);
    if (replies === null) {
      this.giveBack(batch, flight);
      return false;
    }
    const settled = settleReplies(batch, commands, replies);
    if (flight.abandoned) this.unknown -= flight.events;
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
      this.giveBack(settled.retry, flight);
      this.enterOutage(settled.retryError?.message ?? 'Redis busy');
      return false;
    }
    this.exitOutage();
    return true;
  }

  private onWriteFailure(batch: BufferEntry[], flight: Flight, error: unknown): boolean {
    const outcome = settleFailure(error, this.finalStage || flight.abandoned);
    if (flight.abandoned) this.unknown -= flight.events;
    switch (outcome) {
      case 'refused':
        this.buffer.discard(batch);
        this.refused(error, `Redis refused a batch of ${flight.events} events (${describeError(error)})`);
        return true;
      case 'dropped':
        this.buffer.discard(batch);
        return false;
      case 'unknown':
        this.unknown += flight.events;
        return false;
      case 'retry':
        this.giveBack(batch, flight);
        this.enterOutage(describeError(error));
        return false;
    }
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
