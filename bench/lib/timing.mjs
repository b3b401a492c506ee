// Batch timing of sub-microsecond calls, and allocation measurement.
//
// A call that takes ~100 ns cannot be timed one by one (hrtime itself costs ~30-50 ns), so a
// sample is a batch of BATCH calls timed with process.hrtime.bigint(); the per-call time of a
// sample is its duration / BATCH. p50/p99 are over samples, so p99 means "the slowest 1 % of
// batches", which includes GC pauses and timer interrupts that land in a batch.
import v8 from 'node:v8';
import { PerformanceObserver, constants as perf } from 'node:perf_hooks';
import { requireGc, summarize } from './common.mjs';

export const BATCH = 1_000;

/**
 * A chunk whose young-generation size fell by more than this saw a real GC (then its count is
 * unknown and it is left out).
 */
const NOISE_BYTES = 16 * 1024;

/**
 * Calls `n` times from user index `startIndex`, returning something derived from the calls (a count
 * of true results) so that nothing is optimized away.
 * @typedef {(startIndex: number, n: number) => number} RunBatch
 */

/**
 * Times `runBatch(startIndex, n)` (which must do n calls and return something derived from them,
 * so nothing is optimized away). Returns per-call ns percentiles and overall ops/s.
 * @param {RunBatch} runBatch
 * @param {{ samples: number, warmupCalls: number, usersLength: number }} options
 */
export function timeBatches(runBatch, { samples, warmupCalls, usersLength }) {
  let sink = 0;
  let idx = 0;
  for (let done = 0; done < warmupCalls; done += BATCH) {
    sink += runBatch(idx, BATCH);
    idx = (idx + BATCH) % usersLength;
  }
  const perCall = new Float64Array(samples);
  let totalNs = 0n;
  let hits = 0;
  for (let s = 0; s < samples; s++) {
    const t0 = process.hrtime.bigint();
    const r = runBatch(idx, BATCH);
    const t1 = process.hrtime.bigint();
    hits += r;
    const ns = t1 - t0;
    totalNs += ns;
    perCall[s] = Number(ns) / BATCH;
    idx = (idx + BATCH) % usersLength;
  }
  const calls = samples * BATCH;
  const stats = summarize(perCall);
  return {
    calls,
    opsPerSec: (calls * 1e9) / Number(totalNs),
    nsPerCall: { p50: stats.p50, p90: stats.p90, p99: stats.p99, max: stats.max, mean: stats.mean },
    trueShare: hits / calls,
    sink,
  };
}

/**
 * Bytes allocated per call, measured exactly: in chunks small enough that no GC runs inside
 * one (a full GC before each chunk empties the young generation, and the process is started with
 * a large semi-space), the growth of the young generation over the chunk is what the chunk allocated.
 * A chunk of zero calls calibrates the cost of reading the statistics itself.
 * @param {RunBatch} runBatch
 * @param {{ totalCalls: number, chunkCalls: number, usersLength: number }} options
 */
export function bytesPerCall(runBatch, { totalCalls, chunkCalls, usersLength }) {
  const gc = requireGc();
  // young generation only: where per-call garbage goes, and (unlike old space) not swept
  // concurrently after the forced GC, so its size only moves when the program allocates
  const used = () => {
    let bytes = 0;
    for (const space of v8.getHeapSpaceStatistics()) {
      if (space.space_name === 'new_space' || space.space_name === 'new_large_object_space')
        bytes += space.space_used_size;
    }
    return bytes;
  };
  // calibration: the statistics read and loop overhead with no calls
  let calib = Infinity;
  for (let i = 0; i < 5; i++) {
    gc();
    const a = used();
    const b = used();
    calib = Math.min(calib, b - a);
  }
  let bytes = 0;
  let calls = 0;
  let discarded = 0;
  let idx = 0;
  let sink = 0;
  for (let done = 0; done < totalCalls; done += chunkCalls) {
    gc();
    const before = used();
    for (let c = 0; c < chunkCalls; c += BATCH) {
      sink += runBatch(idx, BATCH);
      idx = (idx + BATCH) % usersLength;
    }
    const after = used();
    const delta = after - before - calib;
    if (delta < -NOISE_BYTES) {
      discarded++; // a GC ran inside the chunk: this chunk's count is unknown
      continue;
    }
    bytes += delta;
    calls += chunkCalls;
  }
  return {
    calls,
    bytes,
    bytesPerCall: calls > 0 ? bytes / calls : NaN,
    discardedChunks: discarded,
    calibrationBytes: calib,
    sink,
  };
}

/**
 * Counts GCs by kind while `fn` runs (entries are delivered asynchronously, so this awaits).
 * @template T
 * @param {() => T} fn
 */
export async function countGcs(fn) {
  const counts = { minor: 0, major: 0, incremental: 0, weakcb: 0, other: 0, totalMs: 0 };
  /** @type {Record<number, 'major' | 'minor' | 'incremental' | 'weakcb'>} */
  const kinds = {
    [perf.NODE_PERFORMANCE_GC_MAJOR]: 'major',
    [perf.NODE_PERFORMANCE_GC_MINOR]: 'minor',
    [perf.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
    [perf.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
  };
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      // Node 16+ puts the kind in `detail` (older ones had `entry.kind`, gone since)
      const { detail } = /** @type {{ detail?: { kind?: number } }} */ (entry);
      const kind = kinds[detail?.kind ?? -1] ?? 'other';
      counts[kind]++;
      counts.totalMs += entry.duration;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  const result = fn();
  await new Promise((r) => setTimeout(r, 100));
  observer.disconnect();
  return { result, gcs: counts };
}
