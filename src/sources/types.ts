import type { TailslideError } from '../errors';
import type { Logger } from '../logger';

/**
 * Where the ruleset an evaluation used came from (`EvaluationDetail.source`):
 * - `stream`: the app's JetStream stream;
 * - `bootstrap`: the `bootstrap` option (offline, or online until the stream's first ruleset);
 * - `cache`: the `cacheFile`, read at start because the stream was out of reach;
 * - `test`: a `TestData` source or `manager.setRuleset()`;
 * - `custom`: a source of your own (unless it names one of the above in `MessageMeta.origin`).
 */
export type RulesetOrigin = 'stream' | 'bootstrap' | 'cache' | 'test' | 'custom';

/**
 * How rulesets reach a manager (`manager.health().delivery`): `direct`, RePublish and direct get
 * (nothing on the server per instance); `consumer`, a JetStream consumer per instance;
 * `offline`, a bootstrap; `custom`, a source of your own.
 */
export type DeliveryKind = 'direct' | 'consumer' | 'offline' | 'custom';

/**
 * A ruleset as a source delivers it: the raw message bytes or text (JSON), or an already-parsed
 * array in the wire format. The manager decodes and validates it.
 */
export type RulesetPayload = Uint8Array | string | readonly unknown[];

/** Where a ruleset message came from. Sequences only grow within one source. */
export interface MessageMeta {
  /** JetStream stream sequence (or a counter for offline/test sources). */
  readonly sequence: number;
  /** NATS subject, e.g. `apps.1.update.manual`; `bootstrap` or `test-data` offline. */
  readonly subject: string;
  /**
   * Messages of this app still queued behind this one (JetStream's `info.pending`), when known.
   * The manager declares itself ready only once the initial batch is drained (pending 0), so the
   * newest of the app's subjects is in place before `initialize()` resolves.
   */
  readonly pending?: number;
  /** What kind of ruleset this is, for `EvaluationDetail.source`. Default `custom`. */
  readonly origin?: RulesetOrigin;
}

/**
 * What a flag source reports to the manager. The source does transport only: the manager
 * validates payloads, orders them by sequence and keeps the last good ruleset.
 * None of these may throw back into the source (the manager guarantees it).
 */
export interface SourceSink {
  /** A ruleset: the raw message bytes or JSON text, or an already-parsed array (wire format). */
  ruleset(payload: RulesetPayload, meta: MessageMeta): void;
  /**
   * The source re-reads from the start (new consumer, server restart that lost the stream):
   * the manager then accepts any sequence again, not only newer ones.
   */
  resetSequence(): void;
  /** Connection state changes. `stale`: lost, retrying; `connected`: (re)established. */
  connection(state: 'connected' | 'stale', detail?: { readonly reason?: string; readonly error?: unknown }): void;
  /**
   * The source is waiting for something outside its control (stream missing, app subjects
   * not in the stream yet, no ruleset published yet). Called again whenever the reason changes;
   * the manager logs each distinct reason once.
   */
  waiting(reason: string): void;
  /**
   * Whether updates reach the manager live: `live` once the source follows the app (its first
   * batch read), `interrupted` when it stops (consumer ended or stalled, stream gone), with why.
   * Feeds `manager.health()`; a source that never calls it counts as live while connected. `via`
   * (with `live`) says how it follows, when that can change (`direct` or `consumer`).
   */
  delivery(state: 'live' | 'interrupted', detail?: { readonly reason?: string; readonly via?: DeliveryKind }): void;
  /** Trouble the source recovers from by itself (logged and emitted as `error`). */
  error(error: TailslideError): void;
  /** Trouble retrying cannot fix (authorization refused): the source has stopped. */
  fatal(error: TailslideError): void;
}

/**
 * A supplier of rulesets: JetStream, a bootstrap file, test data, or your own. The manager
 * receives it from a factory (the `source` option) and calls `start` once from `initialize()`
 * and `close` once from `disconnect()`. See docs/manager.md.
 */
export interface FlagSource {
  /**
   * Starts work and resolves promptly, without waiting for a connection: every outcome
   * (rulesets, connection states, fatal errors such as refused credentials) arrives through
   * the sink. Never rejects.
   */
  start(sink: SourceSink): Promise<void>;
  /** Stops work and releases what the source opened. Idempotent. */
  close(): Promise<void>;
}

/** What a source factory is given: the app it serves and the manager's logger. */
export interface FlagSourceContext {
  readonly appId: number;
  readonly logger: Logger;
}

/**
 * Makes the manager's source (the `source` option), called once by `initialize()`. The default
 * makes the JetStream source, or the offline one with `offline: true`.
 */
export type FlagSourceFactory = (context: FlagSourceContext) => FlagSource;
