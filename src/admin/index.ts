/** The admin library's public names (for the `tailslide` CLI, the demo and tests). */
export { FlagAdmin, type RulesetSnapshot } from './flag-admin';
export {
  ADMIN_CONNECTION_NAME,
  DEFAULT_ADMIN_CONNECT_TIMEOUT_MS,
  DEFAULT_ADMIN_MAX_ATTEMPTS,
  DEFAULT_ADMIN_RETRY_BASE_MS,
  DEFAULT_ADMIN_RETRY_MAX_MS,
  type AdminNatsOptions,
  type FlagAdminOptions,
} from './options';
export {
  NEW_FLAG_DEFAULTS,
  EDITABLE_FIELDS,
  CIRCUIT_FIELDS,
  WIRE_FIELD_ORDER,
  type CircuitPatch,
  type EditableFlagFields,
  type FlagPatch,
  type NewFlagInput,
} from './fields';
export {
  diffRulesets,
  diffFlag,
  isEmptyDiff,
  type DiffOptions,
  type FieldChange,
  type FlagChange,
  type RulesetDiff,
} from './diff';
export type { EnsureStreamResult } from './stream';
export { STREAM_LAYOUTS, TOWER_CONTROL_SUBJECTS, type StreamLayout } from '../nats/subjects';
export type { EditOutcome } from './writer';
export { HIGH_WATER_HEADER } from './read';
export { DEFAULT_WATCH_RETRY_MS, type RulesetUpdate, type StopWatch, type WatchOptions } from './watch';
export {
  AdminClosedError,
  DuplicateTitleError,
  EditConflictError,
  InvalidFlagValueError,
  StreamNotFoundError,
  StreamRequestError,
  UnknownAppError,
  UnknownFlagError,
  isDuplicateTitleError,
  isEditConflictError,
  isInvalidFlagValueError,
  isStreamNotFoundError,
  isUnknownAppError,
  isUnknownFlagError,
  type FlagRef,
} from './errors';
