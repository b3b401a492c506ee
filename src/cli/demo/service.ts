/**
 * The demo's simulated service: many users (UUIDs) hitting a few operations, each guarded by a
 * toggler of a real FlagManager. The flag's new code path reports success or failure through the
 * toggler (to Redis, as a service would); both paths are also counted here, per flag.
 */
import { randomUUID } from 'node:crypto';
import type { FlagManager } from '../../manager';
import type { Toggler } from '../../toggler';
import type { DemoFlag } from './setup';

export interface PathCounts {
  /** Requests that took the new path (flag on) and the old one. */
  on: number;
  off: number;
  onFailures: number;
  offFailures: number;
}

export function emptyCounts(): PathCounts {
  return { on: 0, off: 0, onFailures: 0, offFailures: 0 };
}

export function addCounts(into: PathCounts, from: PathCounts): PathCounts {
  into.on += from.on;
  into.off += from.off;
  into.onFailures += from.onFailures;
  into.offFailures += from.offFailures;
  return into;
}

const TICK_MS = 50;

export class SimulatedService {
  private readonly users: readonly string[];
  private readonly togglers: ReadonlyMap<string, Toggler>;
  private counts = new Map<string, PathCounts>();
  private timer: NodeJS.Timeout | undefined;
  private carry = 0;
  private requests = 0;
  private startedAt = 0;

  constructor(
    manager: FlagManager,
    private readonly flags: readonly DemoFlag[],
    private readonly ratePerSecond: number,
    alwaysUsers: readonly string[],
    userCount = 2_000,
    private readonly random: () => number = Math.random,
    private readonly now: () => number = Date.now,
  ) {
    this.users = [
      ...alwaysUsers,
      ...Array.from({ length: Math.max(0, userCount - alwaysUsers.length) }, () => randomUUID()),
    ];
    this.togglers = new Map(flags.map((flag) => [flag.title, manager.newToggler({ flagName: flag.title })]));
    this.resetCounts();
  }

  get totalRequests(): number {
    return this.requests;
  }

  start(): void {
    if (this.timer === undefined) this.startedAt = this.now();
    this.timer ??= setInterval(() => this.run(TICK_MS), TICK_MS);
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The counts per flag title since the last call. */
  takeCounts(): Map<string, PathCounts> {
    const counts = this.counts;
    this.resetCounts();
    return counts;
  }

  /** Serves the requests that arrive in `ms` at the configured rate. */
  run(ms: number): void {
    this.carry += (this.ratePerSecond * ms) / 1000;
    const n = Math.floor(this.carry);
    this.carry -= n;
    for (let i = 0; i < n; i++) this.request();
  }

  private request(): void {
    const flag = this.pick();
    const toggler = this.togglers.get(flag.title);
    const counts = this.counts.get(flag.title);
    if (toggler === undefined || counts === undefined) return;
    const user = this.users[Math.floor(this.random() * this.users.length)] ?? '';
    this.requests += 1;
    if (toggler.isFlagActive(user)) {
      counts.on += 1;
      if (this.random() < this.failOn(flag)) {
        counts.onFailures += 1;
        toggler.emitFailure();
      } else {
        toggler.emitSuccess();
      }
    } else {
      counts.off += 1;
      if (this.random() < flag.failOff) counts.offFailures += 1;
    }
  }

  /** The new path's failure probability now (during an incident, the incident's). */
  private failOn(flag: DemoFlag): number {
    const incident = flag.incident;
    if (incident === undefined) return flag.failOn;
    const at = this.now() - this.startedAt;
    return at >= incident.fromMs && at < incident.toMs ? incident.failOn : flag.failOn;
  }

  private pick(): DemoFlag {
    let r = this.random() * this.flags.reduce((sum, f) => sum + f.share, 0);
    for (const flag of this.flags) {
      r -= flag.share;
      if (r < 0) return flag;
    }
    return this.flags[this.flags.length - 1] as DemoFlag;
  }

  private resetCounts(): void {
    this.counts = new Map(this.flags.map((flag) => [flag.title, emptyCounts()]));
  }
}
