/**
 * The Redis signal sink: `record()` folds events into the buffer (synchronous, O(1), no I/O, never
 * throws); a background loop writes them in MULTI/EXEC batches every `flushIntervalMs`, early when
 * `batchSize` events wait, and on `flush()`/`close()`. One flush at a time.
 *
 * While Redis is unreachable events wait in the buffer (bounded in events, oldest dropped and
 * counted); a failed write puts its events back. One warning per outage, one info line when Redis is
 * back. Invariant, at any time: accepted events = written + pending + dropped.
 */
import type { Logger } from '../logger';
import type { ResolvedSignalOptions } from '../options';
import { SignalBuffer, type BufferEntry } from './buffer';
import type { PlannedCommand, WriteBackend } from './backend';
import { settleWithin } from './async';
import { BackendChoice } from './backend-choice';
import { OutageLog } from './outage-log';
import { openSignalConnection, type SignalConnection } from './redis-connection';
import { describeError, isPermanentReplyError, isTransientReplyError } from './redis-errors';
import { SeriesRegistry } from './series-registry';
import type { SignalSink, SignalStats, SignalStatus, Variant } from './types';

/** Most folded samples sent in one MULTI/EXEC. */
export const MAX_ENTRIES_PER_WRITE = 1_000;
/** Distinct bad inputs warned about, at most. */
const WARN_LIMIT = 100;

export class RedisSignalSink implements SignalSink {
  private readonly buffer: SignalBuffer;
  private readonly off: boolean;
  private connection: SignalConnection | undefined;
  private readonly choice: BackendChoice | undefined;

  private started = false;
  /** No new events accepted (close() called). */
  private closed = false;
  /** close() is past its flush: whatever still fails is dropped, not given back. */
  private final = false;
  private closing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private flushAgain = false;
  private earlyFlushScheduled = false;
  private readonly earlyFlushAt: number;

  private written = 0;
  private inFlight = 0;
  /** Events dropped outside the buffer (module missing). */
  private droppedOutside = 0;
  private readonly outage: OutageLog;
  private readonly series = new SeriesRegistry();
  private readonly warned = new Set<string>();

  constructor(
    private readonly options: ResolvedSignalOptions,
    private readonly logger: Logger,
  ) {
    this.buffer = new SignalBuffer(options.bufferLimit);
    // Write early at the batch size, or at half the buffer bound if that comes first, so a bound
    // smaller than a batch never drops events while Redis is healthy.
    this.earlyFlushAt = Math.max(1, Math.min(options.batchSize, Math.ceil(options.bufferLimit / 2)));
    this.outage = new OutageLog(logger, options.bufferLimit);
    this.off = options.backend === 'off';
    this.choice =
      options.backend === 'off' ? undefined : new BackendChoice(options.backend, options.retentionMs, logger);
  }

  async start(): Promise<void> {
    if (this.off || this.started || this.closed) return;
    this.started = true;
    try {
      const connection = openSignalConnection(this.options.redis, (error) => this.onClientError(error));
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
    if (this.off || this.closed) return;
    try {
      if (!isId(flagId) || !isId(appId) || (status !== 'success' && status !== 'failure')) {
        this.warnOnce(
          `signal:${String(flagId)}:${String(appId)}:${String(status)}`,
          `Signals: ignored an event with flag id ${String(flagId)}, app id ${String(appId)}, status ${String(status)}`,
        );
        return;
      }
      if (this.choice?.missing) {
        this.droppedOutside += 1;
        return;
      }
      this.buffer.add(this.series.signal(flagId, appId, status), timestamp(atMs));
      this.maybeFlushEarly();
    } catch (error) {
      this.warnOnce('record-failed', `Signals: recording failed (${describeError(error)})`);
    }
  }

  recordMetric(flagId: number, appId: number, eventName: string, variant: Variant, value: number, atMs: number): void {
    if (this.off || this.closed) return;
    try {
      if (!isId(flagId) || !isId(appId) || !isVariant(variant)) {
        this.warnOnce(
          `metric:${String(flagId)}:${String(appId)}:${String(variant)}`,
          `Signals: ignored a metric with flag id ${String(flagId)}, app id ${String(appId)}, variant ${String(variant)}`,
        );
        return;
      }
      const token = this.series.token(eventName);
      if (token === undefined) {
        this.warnOnce(
          `event:${String(eventName)}`,
          `Signals: ignored a metric with an invalid event name ${JSON.stringify(String(eventName)).slice(0, 100)} (expected a non-blank string of at most 200 characters)`,
        );
        return;
      }
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        this.warnOnce(
          `value:${token}`,
          `Signals: ignored a metric "${token}" with a value that is not a finite number (${String(value)})`,
        );
        return;
      }
      if (this.choice?.missing) {
        this.droppedOutside += 1;
        return;
      }
      this.buffer.add(this.series.metric(flagId, appId, token, variant), timestamp(atMs), 1, value);
      this.maybeFlushEarly();
    } catch (error) {
      this.warnOnce('record-failed', `Signals: recording failed (${describeError(error)})`);
    }
  }

  stats(): SignalStats {
    return {
      backend: this.choice?.name ?? 'off',
      written: this.written,
      pending: this.buffer.pending + this.inFlight,
      dropped: this.buffer.dropped + this.droppedOutside,
    };
  }

  async flush(timeoutMs: number = this.options.flushTimeoutMs): Promise<void> {
    if (this.off || !this.started || this.final) return;
    const deadline = Date.now() + Math.max(0, timeoutMs);
    try {
      const connection = this.connection;
      if (connection && !connection.ready && !this.outage.active)
        await connection.waitReady(Math.max(0, deadline - Date.now()));
      await settleWithin(this.runFlush(), Math.max(0, deadline - Date.now()));
    } catch {
      // flush never rejects; trouble was logged where it happened
    }
  }

  close(): Promise<void> {
    if (!this.closing) this.closing = this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.off) return;
    try {
      if (this.started) await this.flush(this.options.flushTimeoutMs);
      this.final = true;
      const left = this.buffer.pending;
      if (left > 0) {
        this.buffer.dropAll();
        this.logger.warn(
          `Signals: ${left} events were not written before close (Redis unreachable or flush timed out); dropped`,
        );
      }
      await this.connection?.close();
    } catch (error) {
      this.logger.error(`Signals: closing failed (${describeError(error)})`);
    }
  }

  // --- writing -------------------------------------------------------------------------------

  private maybeFlushEarly(): void {
    if (!this.started || this.outage.active || this.earlyFlushScheduled || this.buffer.pending < this.earlyFlushAt)
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
        } while (this.flushAgain && !this.outage.active && !this.final);
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
    while (budget > 0 && this.buffer.size > 0 && !this.final) {
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
  private async write(connection: SignalConnection, backend: WriteBackend, batch: BufferEntry[]): Promise<boolean> {
    let commands: PlannedCommand[];
    try {
      commands = backend.plan(batch, Date.now());
    } catch (error) {
      const n = this.buffer.discard(batch);
      this.logger.error(`Signals: could not build the write of ${n} events (${describeError(error)}); dropped`);
      return true;
    }
    const events = countEvents(batch);
    this.inFlight += events;
    let results: Array<[Error | null, unknown]> | null;
    try {
      const tx = connection.client.multi();
      for (const command of commands) tx.call(command.name, ...command.args);
      results = await tx.exec();
    } catch (error) {
      this.inFlight -= events;
      if (isPermanentReplyError(error)) {
        this.buffer.discard(batch);
        this.warnOnce(
          `refused:${describeError(error)}`,
          `Signals: Redis refused a batch of ${events} events (${describeError(error)}); dropped`,
        );
        return true;
      }
      this.giveBack(batch);
      this.enterOutage(describeError(error));
      return false;
    }
    this.inFlight -= events;
    if (results === null) {
      this.giveBack(batch);
      return false;
    }
    return this.settle(batch, commands, results);
  }

  /** Maps per-command replies back to entries: written, dropped (refused) or given back (transient). */
  private settle(batch: BufferEntry[], commands: PlannedCommand[], results: Array<[Error | null, unknown]>): boolean {
    const failures = new Map<number, Error>();
    results.forEach(([error], index) => {
      if (!error) return;
      const owner = commands[index]?.owner ?? -1;
      if (owner >= 0) {
        if (!failures.has(owner)) failures.set(owner, error);
      } else {
        this.warnOnce(
          `housekeeping:${error.message}`,
          `Signals: a housekeeping command failed (${error.message}); events were written`,
        );
      }
    });
    const retry: BufferEntry[] = [];
    const refused: BufferEntry[] = [];
    batch.forEach((entry, index) => {
      const error = failures.get(index);
      if (!error) this.written += entry.count;
      else if (isTransientReplyError(error)) retry.push(entry);
      else {
        refused.push(entry);
        this.warnOnce(
          `refused:${error.message}`,
          `Signals: Redis refused a write (${error.message}); its events are dropped`,
        );
      }
    });
    if (refused.length > 0) this.buffer.discard(refused);
    if (retry.length > 0) {
      this.giveBack(retry);
      const first = failures.get(batch.indexOf(retry[0] as BufferEntry));
      this.enterOutage(first ? first.message : 'Redis busy');
      return false;
    }
    this.exitOutage();
    return true;
  }

  private giveBack(batch: BufferEntry[]): void {
    if (this.final) this.buffer.discard(batch);
    else this.buffer.requeue(batch);
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
    if (this.closed && this.final) return;
    // Forced TimeSeries without the module: accept events again and ask the (maybe new) server.
    this.choice?.reconnected();
    this.exitOutage();
    this.requestFlush();
  }

  private onClientError(error: Error): void {
    if (!this.final) this.enterOutage(describeError(error));
  }

  private notReady(connection: SignalConnection): void {
    const status = connection.status;
    if (status === 'wait') connection.connect();
    else if (status === 'reconnecting' || status === 'close' || status === 'end')
      this.enterOutage(`connection ${status}`);
  }

  private enterOutage(reason: string): void {
    if (!this.final) this.outage.enter(reason, this.stats().dropped);
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
}

function isId(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** A usable sample time: the given ms when it is one, now otherwise. */
function timestamp(atMs: number): number {
  return typeof atMs === 'number' && Number.isFinite(atMs) && atMs >= 0 ? Math.floor(atMs) : Date.now();
}

function countEvents(batch: readonly BufferEntry[]): number {
  let n = 0;
  for (const entry of batch) n += entry.count;
  return n;
}

/** `on`, `off`, or a variation index (`0`–`63`). */
function isVariant(variant: unknown): variant is Variant {
  return (
    variant === 'on' ||
    variant === 'off' ||
    (typeof variant === 'string' && /^(?:[0-9]|[1-5][0-9]|6[0-3])$/.test(variant))
  );
}
