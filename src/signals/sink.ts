/**
 * The Redis signal sink: its lifecycle and its write loop. `record()` folds events into the buffer
 * (synchronous, O(1), no I/O, never throws); a background loop writes them in batches every
 * `flushIntervalMs`, early when `batchSize` events wait, and on `flush()`/`close()`. One flush at a
 * time. Design: docs/signals.md.
 *
 * - batch-writer.ts: the write of one batch (an idempotent script, or MULTI/EXEC where scripts are
 *   refused; per slot on a Cluster) and the settlement of its outcome; in-doubt.ts: the batch whose
 *   answer was lost, kept aside and resent first with its id, so Redis holds each batch at most once.
 * - While Redis is unreachable events wait in the buffer (bounded in events, oldest dropped and
 *   counted); a batch that did not run goes back into it. One warning per outage (a hang, noticed by
 *   the command timeout, is one), one info line when Redis is back (outage-log.ts).
 * - Every accepted event is counted exactly once, at any time:
 *   accepted = written + pending + dropped + unknown. What each count holds, and where it moves:
 *   ledger.ts.
 */
import type { Logger } from '../logger';
import type { ResolvedSignalOptions } from '../options';
import { settleWithin } from '../util/timeout';
import type { WriteBackend } from './backend';
import { BackendChoice } from './backend-choice';
import { BatchWriter } from './batch-writer';
import { SignalBuffer } from './buffer';
import { checkEvent, type EventInput } from './event';
import { SignalLedger } from './ledger';
import { OnceLog } from './once-log';
import { OutageLog } from './outage-log';
import { COMMAND_TIMEOUT_MS, openRedis, type RedisConnection } from './redis-connection';
import { describeError, isCredentialsError } from './redis-errors';
import { SeriesRegistry } from './series-registry';
import type { SignalSink, SignalStats, SignalStatus, Variant } from './types';

/** Most folded samples sent in one batch. */
export const MAX_ENTRIES_PER_WRITE = 1_000;

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

export class RedisSignalSink implements SignalSink {
  private state: SinkState;
  private readonly buffer: SignalBuffer;
  private connection: RedisConnection | undefined;
  private readonly choice: BackendChoice | undefined;

  private closing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private flushAgain = false;
  private earlyFlushScheduled = false;
  private readonly earlyFlushAt: number;

  /** Every count of stats(); the invariant lives there. */
  private readonly ledger: SignalLedger;
  private readonly writer: BatchWriter;
  private readonly outage: OutageLog;
  private readonly once: OnceLog;
  private readonly series = new SeriesRegistry();
  private readonly tokenOf = (eventName: unknown): string | undefined => this.series.token(eventName);

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
    this.once = new OnceLog(logger);
    this.ledger = new SignalLedger(this.buffer);
    this.writer = new BatchWriter({
      buffer: this.buffer,
      ledger: this.ledger,
      logger,
      once: this.once,
      retentionMs: options.retentionMs,
      clock,
      host: {
        isFinalStage: () => this.finalStage,
        enterOutage: (reason) => this.enterOutage(reason),
        exitOutage: () => this.exitOutage(),
      },
    });
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
      const connection = openRedis(
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
    return this.ledger.stats(this.choice?.name ?? 'off');
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
        this.once.warn(event.key, event.message);
        return;
      }
      if (this.choice?.missing) {
        this.ledger.droppedOutside += 1;
        return;
      }
      const at = this.timestamp(atMs);
      if (event.kind === 'signal') this.buffer.add(this.series.signal(event.flagId, event.appId, event.status), at);
      else
        this.buffer.add(this.series.metric(event.flagId, event.appId, event.token, event.variant), at, 1, event.value);
      this.maybeFlushEarly();
    } catch (error) {
      this.once.warn('record-failed', `Signals: recording failed (${describeError(error)})`);
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
      this.writer.settleDoubtAtClose();
      const left = this.buffer.pending;
      if (left > 0) {
        this.buffer.dropAll();
        this.logger.warn(
          `Signals: ${left} events were not written before close (Redis unreachable or flush timed out); dropped`,
        );
      }
      const unanswered = this.ledger.abandonAll();
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
    while ((this.writer.inDoubt || (budget > 0 && this.buffer.size > 0)) && !this.finalStage) {
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
      if (this.writer.inDoubt) {
        if (!(await this.writer.resendDoubt(connection))) return;
        continue;
      }
      const batch = this.buffer.take(Math.min(MAX_ENTRIES_PER_WRITE, budget));
      budget -= batch.length;
      if (!(await this.writer.write(connection, backend, batch))) return;
    }
  }

  /** The backend to write with, deciding it on first use; undefined when writing must wait or stop. */
  private async ensureBackend(connection: RedisConnection): Promise<WriteBackend | undefined> {
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
    this.once.forget('credentials');
    this.exitOutage();
    this.requestFlush();
  }

  private onClientError(error: Error): void {
    if (this.finalStage) return;
    if (isCredentialsError(error)) {
      this.once.error(
        'credentials',
        `Signals: Redis refused the credentials (${describeError(error)}); keeping up to ` +
          `${this.options.bufferLimit} events and trying again with a backoff up to 30 s until they are accepted`,
      );
      this.enterOutage(describeError(error), true);
      return;
    }
    this.enterOutage(describeError(error));
  }

  private notReady(connection: RedisConnection): void {
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
}
