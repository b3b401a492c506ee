/**
 * What a storage backend does for the sink: turn a batch of folded entries into Redis commands.
 * Building is pure (unit-testable without a server); the sink sends the commands in one
 * MULTI/EXEC and maps each reply back to the entry that owns it.
 */
import type { BufferEntry } from './buffer';

export type CommandArg = string | number;

/** One Redis command: name and arguments. */
export interface PlannedCommand {
  readonly name: string;
  readonly args: readonly CommandArg[];
  /**
   * Index of the entry (in the batch) this command writes, or -1 for housekeeping (expiry,
   * indexes) whose failure loses no event.
   */
  readonly owner: number;
}

export type BackendName = 'timeseries' | 'native';

export interface WriteBackend {
  readonly name: BackendName;
  /** Commands that write `entries`; every entry owns at least one command. */
  plan(entries: readonly BufferEntry[], nowMs: number): PlannedCommand[];
  /**
   * Whether the entry is too old to be kept at `nowMs` (the host clock): writing it would store data
   * that expires on arrival. Absent when the server decides (TimeSeries refuses such samples itself).
   */
  expired?(entry: BufferEntry, nowMs: number): boolean;
}
