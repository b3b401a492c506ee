/**
 * tailslide: a server-side feature-flag SDK for Node.js.
 * Flags come from NATS JetStream (or a bootstrap file), are evaluated locally, and success/failure
 * signals go to Redis. This is the package's one public entry; everything else is internal.
 */
export { FlagManager } from './manager';
export type { FlagManagerEvents, ManagerState, UpdateEvent } from './manager';
export type { ManagerHealth } from './health';
export { Toggler } from './toggler';
export type { EvaluationDetail, VariationDetail, VariationDetailReason } from './toggler';
export type { EvaluationReason } from './evaluation/evaluator';
export type { VariationReason } from './evaluation/variation';
export type { TargetingReason } from './evaluation/targeting';
export type { AttributeValue, ContextAttributes, EvaluationContext } from './evaluation/context';
export type {
  Clause,
  ClauseOp,
  ClauseValue,
  JsonValue,
  Rule,
  Serve,
  SplitEntry,
  Target,
  Targeting,
} from './ruleset/targeting';
export { bucket, legacyBucket, splitBucket } from './evaluation/bucket';
export { murmur3 } from './evaluation/murmur3';
export type { FlagManagerOptions, HashingMode, SignalBackendOption } from './options';
export type {
  DeliveryKind,
  FlagSource,
  FlagSourceContext,
  FlagSourceFactory,
  MessageMeta,
  RulesetOrigin,
  RulesetPayload,
  SourceSink,
} from './sources/types';
export { TestData } from './sources/test-data';
export type { TestFlag } from './sources/test-data';
export {
  DEFAULT_INIT_TIMEOUT_MS,
  DEFAULT_NATS_STREAM,
  DEFAULT_SIGNAL_BATCH_SIZE,
  DEFAULT_SIGNAL_BUFFER_LIMIT,
  DEFAULT_SIGNAL_FLUSH_INTERVAL_MS,
  DEFAULT_SIGNAL_FLUSH_TIMEOUT_MS,
  DEFAULT_SIGNAL_RETENTION_MS,
} from './options';
export type { Flag, WireFlag, Ruleset, CircuitStatus, RecoveryProfile } from './ruleset/types';
export { parseRuleset, toWire } from './ruleset/parse';
export type { ParseResult } from './ruleset/parse';
export type { Logger } from './logger';
export type { SignalStats, SignalStatus, Variant } from './signals/types';
export type { RedisClient, RedisExecReply } from './signals/client';
export { SignalReader } from './signals/reader';
export type {
  AppFlagCounts,
  FlagBucket,
  FlagCounts,
  MetricStats,
  MetricSummary,
  SeriesWindow,
  SignalReaderOptions,
  SignalWindow,
} from './signals/reader';
export {
  AuthorizationError,
  ConnectionError,
  InvalidFlagError,
  InvalidOptionError,
  InvalidRulesetError,
  TailslideError,
  isAuthorizationError,
  isInvalidFlagError,
  isInvalidOptionError,
  isInvalidRulesetError,
  isTailslideError,
} from './errors';
export type { RulesetIssue, TailslideErrorCode } from './errors';
