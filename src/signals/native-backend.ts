/**
 * Native backend: plain Redis hashes, for servers without the TimeSeries module (Redis before 8,
 * Valkey, most managed Redis). Design in docs/signals.md:
 *
 * - `tailslide:sig:{<flagId>}:<status>:<blockStartMs>`: HASH, field = second within the 60 s block
 *   ("0".."59"), value = event count. One HINCRBY per folded sample.
 * - `tailslide:metric:{<flagId>}:<event>:<variant>:<blockStartMs>`: HASH, fields `c:<second>` (count,
 *   HINCRBY) and `s:<second>` (value sum, HINCRBYFLOAT).
 * - `tailslide:sig:app:{<appId>}:flags`: ZSET of the app's flag ids, score = newest event ms, so a
 *   breaker can read an app; trimmed to the retention and expiring with it.
 *
 * Every block key gets PEXPIRE (block end + retention − now), once per key per batch: a relative
 * expiry, so the key lives for the retention whatever the server's clock says (an absolute
 * PEXPIREAT computed from a host clock behind Redis' by more than the retention would expire data on
 * arrival). The times are the host's, as the events' own timestamps are; a key never outlives its
 * data by more than one block. A sample whose block ended more than the retention ago by the host
 * clock is not written at all (`expired`): the sink drops and counts it.
 */
import type { BufferEntry } from './buffer';
import type { PlannedCommand, WriteBackend } from './backend';
import {
  NATIVE_BLOCK_MS,
  blockStart,
  metricCountField,
  metricSumField,
  nativeAppIndexKey,
  nativeMetricKey,
  nativeSignalKey,
  secondField,
} from './keys';

export class NativeBackend implements WriteBackend {
  readonly name = 'native' as const;

  /** @param retentionMs how long data is kept; 0 keeps it forever (no expiry), as in TimeSeries. */
  constructor(private readonly retentionMs: number) {}

  plan(entries: readonly BufferEntry[], nowMs: number): PlannedCommand[] {
    const commands: PlannedCommand[] = [];
    const expiries = new Map<string, number>();
    const apps = new Map<number, Map<number, number>>();

    entries.forEach((entry, owner) => {
      const block = blockStart(entry.atMs);
      const second = secondField(entry.atMs);
      const { series } = entry;
      let key: string;
      if (series.kind === 'signal') {
        key = nativeSignalKey(series.flagId, series.status, block);
        commands.push({ name: 'HINCRBY', args: [key, second, entry.count], owner });
        let flags = apps.get(series.appId);
        if (!flags) apps.set(series.appId, (flags = new Map<number, number>()));
        flags.set(series.flagId, Math.max(flags.get(series.flagId) ?? 0, entry.atMs));
      } else {
        key = nativeMetricKey(series.flagId, series.event, series.variant, block);
        commands.push({ name: 'HINCRBY', args: [key, metricCountField(second), entry.count], owner });
        commands.push({ name: 'HINCRBYFLOAT', args: [key, metricSumField(second), formatNumber(entry.sum)], owner });
      }
      if (this.retentionMs > 0) expiries.set(key, Math.max(1, this.expiresAt(block) - nowMs));
    });

    for (const [key, ttl] of expiries) commands.push({ name: 'PEXPIRE', args: [key, ttl], owner: -1 });
    for (const [appId, flags] of apps) {
      const key = nativeAppIndexKey(appId);
      const args: (string | number)[] = [key];
      for (const [flagId, lastMs] of flags) args.push(lastMs, flagId);
      commands.push({ name: 'ZADD', args, owner: -1 });
      if (this.retentionMs > 0) {
        commands.push({
          name: 'ZREMRANGEBYSCORE',
          args: [key, '-inf', `(${nowMs - this.retentionMs - NATIVE_BLOCK_MS}`],
          owner: -1,
        });
        commands.push({ name: 'PEXPIRE', args: [key, this.retentionMs + NATIVE_BLOCK_MS], owner: -1 });
      }
    }
    return commands;
  }

  expired(entry: BufferEntry, nowMs: number): boolean {
    return this.retentionMs > 0 && this.expiresAt(blockStart(entry.atMs)) <= nowMs;
  }

  /** When the block starting at `block` is to expire, by the host clock. */
  private expiresAt(block: number): number {
    return block + NATIVE_BLOCK_MS + this.retentionMs;
  }
}

/** A number as Redis reads it: no exponent for the common range, full precision. */
export function formatNumber(value: number): string {
  if (Number.isInteger(value) && Math.abs(value) < 1e21) return value.toFixed(0);
  return String(value);
}
