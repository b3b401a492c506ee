/**
 * Redis Cluster hash slots, for splitting a batch of writes: a script or MULTI/EXEC may only touch
 * keys of one slot there (CROSSSLOT otherwise), so a batch goes as one per slot (batch.ts). Pure;
 * unit-tested against `CLUSTER KEYSLOT`.
 */
import type { PlannedCommand } from './backend';

export const SLOT_COUNT = 16_384;

/** CRC16-CCITT (XModem), as Redis Cluster computes it, over the key's UTF-8 bytes. */
function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

const encoder = new TextEncoder();

/** The slot of `key`: of its hash tag (`{…}`, first non-empty one) when it has one. */
export function keySlot(key: string): number {
  const open = key.indexOf('{');
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) key = key.slice(open + 1, close);
  }
  return crc16(encoder.encode(key)) % SLOT_COUNT;
}

/** A batch's commands that share one slot, with their positions in the batch's command list. */
export interface SlotGroup {
  readonly slot: number;
  readonly commands: PlannedCommand[];
  readonly positions: number[];
}

/** Groups commands by the slot of their key (every planned command has its key first). */
export function groupBySlot(commands: readonly PlannedCommand[]): SlotGroup[] {
  const groups = new Map<number, SlotGroup>();
  commands.forEach((command, position) => {
    const slot = keySlot(String(command.args[0] ?? ''));
    let group = groups.get(slot);
    if (!group) groups.set(slot, (group = { slot, commands: [], positions: [] }));
    group.commands.push(command);
    group.positions.push(position);
  });
  return [...groups.values()];
}

/** What a Redis Cluster client (ioredis `Cluster`) has beyond a single client's members. */
interface ClusterLike<C> {
  readonly isCluster?: unknown;
  nodes?: (role: 'master') => C[];
}

/**
 * The clients a keyless query (`TS.MRANGE`, `SCAN`, …) must go to: every primary of a Redis
 * Cluster (each answers for its own shard only), or the client itself.
 */
export function primariesOf<C extends object>(client: C): C[] {
  const cluster = client as C & ClusterLike<C>;
  if (cluster.isCluster === true && typeof cluster.nodes === 'function') return cluster.nodes('master');
  return [client];
}
