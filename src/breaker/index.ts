/**
 * `tailslide/breaker`: the circuit breaker, on its own subpath so that the SDK's entry stays light.
 * See docs/breaker.md.
 */
export { CircuitBreaker, describeTransition } from './breaker';
export type { CircuitBreakerEvents, CircuitTransition, PollReport } from './breaker';
export type { WatchSummary } from './decide';
export {
  DEFAULT_BREAKER_MIN_REQUESTS,
  DEFAULT_BREAKER_POLL_INTERVAL_MS,
  DEFAULT_BREAKER_WINDOW_MS,
  type BreakerMode,
  type CircuitBreakerOptions,
} from './options';
export {
  CIRCUIT_CHANGED_AT,
  CIRCUIT_RECOVERY_CHANGED_AT,
  decide,
  errorRatePercent,
  nextRecoveryPercentage,
  windowStartMs,
  type Counts,
  type Decision,
  type TransitionKind,
} from './decide';
export { TOWER_SUBJECTS } from './tower';
