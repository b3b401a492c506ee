/**
 * The in-memory buffer of the signal pipeline: pure, no I/O, no timers.
 *
 * Events are folded per (series, millisecond): a burst of 10,000 emits of one flag within one ms is
 * one entry whose count is 10,000. An event folds into the newest entry of its series when that
 * entry has the same millisecond (events arrive in time order, so that is where folding happens;
 * an out-of-order event just makes one more entry, and the sums stay right). Series are compared
 * by identity: the caller reuses one `Series` object per series. Entries are kept oldest first in
 * a linked list, so that the bound can drop the OLDEST events and a failed write can put its
 * entries back in front. The bound counts EVENTS, not entries; every event accepted is, at any time, exactly one of
 * pending, taken (in flight, owned by the caller) or dropped.
 */
import type { SignalStatus, Variant } from './types';

export interface SignalSeries {
  readonly kind: 'signal';
  readonly flagId: number;
  readonly appId: number;
  readonly status: SignalStatus;
}

export interface MetricSeries {
  readonly kind: 'metric';
  readonly flagId: number;
  readonly appId: number;
  /** The event name as encoded by `eventToken()`. */
  readonly event: string;
  readonly variant: Variant;
}

export type Series = SignalSeries | MetricSeries;

/** Events of one series folded into one millisecond. */
export interface BufferEntry {
  readonly series: Series;
  readonly atMs: number;
  /** How many events. */
  count: number;
  /** Sum of the events' values (metrics); equals `count` for signals. */
  sum: number;
}

interface Node extends BufferEntry {
  prev: Node | undefined;
  next: Node | undefined;
  /** Still held (not taken or dropped). */
  live: boolean;
}

export class SignalBuffer {
  private head: Node | undefined;
  private tail: Node | undefined;
  /** Newest entry of each series: new events fold into it when their millisecond matches. */
  private readonly newest = new Map<Series, Node>();
  private events = 0;
  private entries = 0;
  private droppedEvents = 0;

  /** @param limit most events held at once; past it the oldest are dropped. */
  constructor(readonly limit: number) {
    if (!Number.isSafeInteger(limit) || limit < 1)
      throw new RangeError(`buffer limit must be an integer ≥ 1, got ${limit}`);
  }

  /** Events held now (not counting entries taken and not yet given back). */
  get pending(): number {
    return this.events;
  }

  /** Entries (folded samples) held now. */
  get size(): number {
    return this.entries;
  }

  /** Events dropped so far to respect the bound, or by `dropAll()`. */
  get dropped(): number {
    return this.droppedEvents;
  }

  /**
   * Adds `count` events of `series` at `atMs` with a value sum of `sum`, folding them into the
   * newest entry of the series when it has the same millisecond. O(1) (amortized: dropping old
   * entries is paid once per entry). Returns how many events the bound dropped.
   */
  add(series: Series, atMs: number, count = 1, sum: number = count): number {
    const node = this.newest.get(series);
    if (node !== undefined && node.live && node.atMs === atMs) {
      node.count += count;
      node.sum += sum;
    } else {
      const created: Node = { series, atMs, count, sum, prev: this.tail, next: undefined, live: true };
      if (this.tail) this.tail.next = created;
      else this.head = created;
      this.tail = created;
      this.newest.set(series, created);
      this.entries += 1;
    }
    this.events += count;
    return this.enforceLimit();
  }

  /**
   * Removes up to `maxEntries` of the oldest entries and hands them to the caller, who must either
   * count them as written, drop them (`discard`) or give them back (`requeue`).
   */
  take(maxEntries: number): BufferEntry[] {
    const out: BufferEntry[] = [];
    while (this.head && out.length < maxEntries) {
      const node = this.head;
      this.unlink(node);
      out.push({ series: node.series, atMs: node.atMs, count: node.count, sum: node.sum });
    }
    return out;
  }

  /**
   * Puts taken entries back in front (they are older than anything still held), then applies the
   * bound, so they are the first to go. Returns how many events the bound dropped.
   */
  requeue(taken: readonly BufferEntry[]): number {
    for (let i = taken.length - 1; i >= 0; i -= 1) {
      const entry = taken[i];
      if (entry === undefined || entry.count <= 0) continue;
      const node: Node = {
        series: entry.series,
        atMs: entry.atMs,
        count: entry.count,
        sum: entry.sum,
        prev: undefined,
        next: this.head,
        live: true,
      };
      if (this.head) this.head.prev = node;
      else this.tail = node;
      this.head = node;
      this.entries += 1;
      this.events += node.count;
    }
    return this.enforceLimit();
  }

  /** Counts taken events as dropped (e.g. Redis refused them for good). */
  discard(taken: readonly BufferEntry[]): number {
    let n = 0;
    for (const entry of taken) n += entry.count;
    this.droppedEvents += n;
    return n;
  }

  /** Drops everything held (counted as dropped). Returns how many events. */
  dropAll(): number {
    const n = this.events;
    this.droppedEvents += n;
    this.newest.clear();
    this.head = undefined;
    this.tail = undefined;
    this.events = 0;
    this.entries = 0;
    return n;
  }

  private enforceLimit(): number {
    let dropped = 0;
    while (this.events > this.limit && this.head) {
      const node = this.head;
      const excess = this.events - this.limit;
      if (node.count <= excess) {
        this.unlink(node);
        dropped += node.count;
      } else {
        // Drop part of a folded entry: its events share one millisecond, so which of them go is
        // immaterial; a metric keeps its mean by losing the dropped events' share of the sum.
        node.sum -= (node.sum / node.count) * excess;
        node.count -= excess;
        this.events -= excess;
        dropped += excess;
      }
    }
    this.droppedEvents += dropped;
    return dropped;
  }

  private unlink(node: Node): void {
    if (node.prev) node.prev.next = node.next;
    else this.head = node.next;
    if (node.next) node.next.prev = node.prev;
    else this.tail = node.prev;
    node.prev = undefined;
    node.next = undefined;
    node.live = false;
    if (this.newest.get(node.series) === node) this.newest.delete(node.series);
    this.entries -= 1;
    this.events -= node.count;
  }
}
