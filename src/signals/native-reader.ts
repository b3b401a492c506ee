/**
 * Reads the native backend: sums the per-second fields of the block hashes a window touches.
 * Resolution is one second; a second counts when it overlaps the window, so windows are rounded
 * outward to whole seconds. Cost: one HGETALL per status (or variant) per 60 s block, pipelined.
 */
import type { Redis } from 'ioredis';
import { keySlot } from './slots';
import {
  addTotals,
  bucketOf,
  type MetricTotals,
  type ReadBackend,
  type StatusTotals,
  type Window,
} from './read-backend';
import {
  NATIVE_BLOCK_MS,
  NATIVE_RESOLUTION_MS,
  blockStart,
  nativeAppIndexKey,
  nativeMetricKey,
  nativeSignalKey,
} from './keys';
import type { SignalStatus, Variant } from './types';

const KEYS_PER_PIPELINE = 1_000;
const STATUSES: readonly SignalStatus[] = ['success', 'failure'];

export class NativeReader implements ReadBackend {
  readonly name = 'native' as const;

  constructor(private readonly client: Redis) {}

  async flagTotals(flagId: number, window: Window): Promise<StatusTotals> {
    const totals = await this.statusSeconds([flagId], window);
    return totals.get(flagId) ?? { success: 0, failure: 0 };
  }

  async flagBuckets(
    flagId: number,
    window: Window,
    bucketMs: number,
    alignMs: number,
  ): Promise<Map<number, StatusTotals>> {
    const out = new Map<number, StatusTotals>();
    const first = bucketOf(window.fromMs, bucketMs, alignMs);
    await this.eachSecond([flagId], window, (_flag, status, secondMs, n) => {
      addTotals(out, Math.max(first, bucketOf(secondMs, bucketMs, alignMs)), status, n);
    });
    return out;
  }

  async appTotals(appId: number, window: Window): Promise<Map<number, StatusTotals>> {
    const members = await this.client.zrange(nativeAppIndexKey(appId), 0, -1);
    const flagIds = members.map(Number).filter((id) => Number.isSafeInteger(id) && id >= 0);
    const totals = await this.statusSeconds(flagIds, window);
    for (const flagId of flagIds) if (!totals.has(flagId)) totals.set(flagId, { success: 0, failure: 0 });
    return totals;
  }

  async metricTotals(
    flagId: number,
    eventToken: string,
    window: Window,
    variants: readonly Variant[],
  ): Promise<Map<Variant, MetricTotals>> {
    const out = new Map<Variant, MetricTotals>(variants.map((v) => [v, { count: 0, sum: 0 }]));
    const requests: Array<{ key: string; block: number; variant: Variant }> = [];
    for (const variant of variants) {
      for (const block of blocks(window))
        requests.push({ key: nativeMetricKey(flagId, eventToken, variant, block), block, variant });
    }
    const hashes = await this.hgetall(requests.map((r) => r.key));
    requests.forEach((request, index) => {
      const hash = hashes[index] ?? {};
      for (const [field, raw] of Object.entries(hash)) {
        const match = /^([cs]):(\d+)$/.exec(field);
        if (!match) continue;
        const secondMs = request.block + Number(match[2]) * NATIVE_RESOLUTION_MS;
        const value = Number(raw);
        if (!Number.isFinite(value) || !overlaps(secondMs, window)) continue;
        const totals = out.get(request.variant);
        if (totals === undefined) continue;
        if (match[1] === 'c') totals.count += value;
        else totals.sum += value;
      }
    });
    return out;
  }

  private async statusSeconds(flagIds: readonly number[], window: Window): Promise<Map<number, StatusTotals>> {
    const out = new Map<number, StatusTotals>();
    await this.eachSecond(flagIds, window, (flagId, status, _secondMs, n) => addTotals(out, flagId, status, n));
    return out;
  }

  /** Calls `visit` for every non-empty second of the flags' success and failure hashes in the window. */
  private async eachSecond(
    flagIds: readonly number[],
    window: Window,
    visit: (flagId: number, status: SignalStatus, secondMs: number, count: number) => void,
  ): Promise<void> {
    const requests: Array<{ key: string; block: number; flagId: number; status: SignalStatus }> = [];
    for (const flagId of flagIds) {
      for (const status of STATUSES) {
        for (const block of blocks(window))
          requests.push({ key: nativeSignalKey(flagId, status, block), block, flagId, status });
      }
    }
    const hashes = await this.hgetall(requests.map((r) => r.key));
    requests.forEach((request, index) => {
      const hash = hashes[index] ?? {};
      for (const [field, raw] of Object.entries(hash)) {
        const secondMs = request.block + Number(field) * NATIVE_RESOLUTION_MS;
        const n = Number(raw);
        if (Number.isFinite(secondMs) && Number.isFinite(n) && overlaps(secondMs, window))
          visit(request.flagId, request.status, secondMs, n);
      }
    });
  }

  private async hgetall(keys: readonly string[]): Promise<Array<Record<string, string>>> {
    if ((this.client as unknown as { isCluster?: unknown }).isCluster === true) return this.hgetallPerSlot(keys);
    const out: Array<Record<string, string>> = [];
    for (let i = 0; i < keys.length; i += KEYS_PER_PIPELINE) {
      const pipeline = this.client.pipeline();
      for (const key of keys.slice(i, i + KEYS_PER_PIPELINE)) pipeline.hgetall(key);
      const results = (await pipeline.exec()) ?? [];
      for (const [error, value] of results) {
        if (error) throw error;
        out.push(isStringRecord(value) ? value : {});
      }
    }
    return out;
  }

  /**
   * On a Redis Cluster a pipeline may only hold keys of one node: one pipeline per hash slot (a
   * flag's keys share one, through the `{<flagId>}` tag), all at once.
   */
  private async hgetallPerSlot(keys: readonly string[]): Promise<Array<Record<string, string>>> {
    const bySlot = new Map<number, number[]>();
    keys.forEach((key, index) => {
      const slot = keySlot(key);
      const list = bySlot.get(slot);
      if (list) list.push(index);
      else bySlot.set(slot, [index]);
    });
    const out = new Array<Record<string, string>>(keys.length);
    await Promise.all(
      [...bySlot.values()].map(async (indexes) => {
        const pipeline = this.client.pipeline();
        for (const index of indexes) pipeline.hgetall(keys[index] ?? '');
        const results = (await pipeline.exec()) ?? [];
        results.forEach(([error, value], j) => {
          if (error) throw error;
          out[indexes[j] ?? 0] = isStringRecord(value) ? value : {};
        });
      }),
    );
    return out;
  }
}

/** Block starts from the window's first block to its last. */
function* blocks(window: Window): Generator<number> {
  for (let block = blockStart(window.fromMs); block <= window.toMs; block += NATIVE_BLOCK_MS) yield block;
}

/** Whether the second starting at `secondMs` overlaps [fromMs, toMs]. */
function overlaps(secondMs: number, window: Window): boolean {
  return secondMs + NATIVE_RESOLUTION_MS - 1 >= window.fromMs && secondMs <= window.toMs;
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
