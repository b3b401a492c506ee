/** Outcome of a guarded operation. */
export type SignalStatus = 'success' | 'failure';
/** Which side of a flag a user got, for custom metrics. */
/**
 * The variant a custom metric is recorded under: `on`/`off` for a boolean flag, the variation index
 * (`"0"`, `"1"`, …) for a flag with its own variations (docs/targeting.md).
 */
export type Variant = string;

/**
 * Counters of the signal pipeline, readable at any time (`manager.signalStats()`). Every event
 * accepted (each emit, each trackMetric call with valid arguments) is in exactly one of them:
 * accepted = written + pending + dropped + unknown.
 */
export interface SignalStats {
  /** Which backend is in use now: decided at connect time when `signalBackend` is 'auto'. */
  readonly backend: 'timeseries' | 'native' | 'off' | 'pending';
  /** Events (each emit, each trackMetric call) written to Redis and acknowledged. */
  readonly written: number;
  /** Events accepted and not yet written: buffered, or sent in a batch Redis has not answered yet. */
  readonly pending: number;
  /**
   * Events never written: the buffer was full during an outage (oldest first), Redis refused them
   * (an ACL, a sample older than the retention), a forced TimeSeries backend found no module, or
   * they were still buffered when `disconnect()` gave up.
   */
  readonly dropped: number;
  /**
   * Events sent to Redis whose answer `disconnect()` stopped waiting for (Redis hung past the flush
   * timeout): Redis may still store them when it resumes. Never counted as dropped.
   */
  readonly unknown: number;
  /**
   * Writes (and the PINGs that probe a hung Redis) the SDK's own client gave up waiting for after
   * its command timeout (3 s): Redis hangs or is far too slow. Not events: a count of timeouts.
   * The batch of a timed-out write stays pending and is resent with its id when Redis answers.
   */
  readonly timeouts: number;
}

/**
 * The manager's handle on the signal pipeline. Recording is synchronous, O(1), never throws and
 * never waits on the network; writing happens in batches in the background.
 */
export interface SignalSink {
  /** Starts the connection and backend detection. Resolves promptly; never rejects. */
  start(): Promise<void>;
  record(flagId: number, appId: number, status: SignalStatus, atMs: number): void;
  recordMetric(flagId: number, appId: number, eventName: string, variant: Variant, value: number, atMs: number): void;
  stats(): SignalStats;
  /** Writes what is pending now; resolves when written or when `timeoutMs` passes. Never rejects. */
  flush(timeoutMs?: number): Promise<void>;
  /** Flushes (bounded by the flush timeout), then closes the Redis client if the SDK opened it. Idempotent. */
  close(): Promise<void>;
}
