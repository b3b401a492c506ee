/** What the demo shows each tick, for the live view and the piped report alike. */
import type { WireFlag } from '../../ruleset/types';
import type { FlagCounts } from '../../signals/reader';
import type { SignalStats } from '../../signals/types';
import type { PathCounts } from './service';

export interface FlagRow {
  readonly title: string;
  readonly operation: string;
  /** The flag as the service's manager has it now; undefined when it is not in the ruleset. */
  readonly flag: WireFlag | undefined;
  /** Requests of the last `windowMs`. */
  readonly recent: PathCounts;
  /** Counts of the new path's signals in Redis over the last minute (SignalReader). */
  readonly redis: FlagCounts | undefined;
}

export interface Frame {
  readonly appId: number;
  readonly sequence: number | undefined;
  readonly elapsedMs: number;
  readonly durationMs: number | undefined;
  readonly windowMs: number;
  readonly nats: string;
  readonly redis: string;
  readonly signals: SignalStats;
  readonly requests: number;
  readonly rows: readonly FlagRow[];
  /** Recent ruleset changes, oldest first. */
  readonly changes: readonly string[];
  /** The last warning (a lost connection, Redis trouble), if any. */
  readonly status: string | undefined;
}
