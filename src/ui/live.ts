/**
 * Live updates for the browser: server-sent events fed by the admin library's watch. One watch per
 * app serves every page that shows it; the apps page gets a summary of every app, whose list is
 * re-read every few seconds (new apps) while it is open.
 */
import type { ServerResponse } from 'node:http';
import type { FlagAdmin, RulesetUpdate, StopWatch } from '../admin';
import type { Logger } from '../logger';
import type { WireFlag } from '../ruleset/types';
import type { AppSummary, LiveEvents, RulesetEvent } from './contract';

export function summarize(appId: number, flags: readonly WireFlag[], sequence: number, time: string): AppSummary {
  return {
    id: appId,
    flags: flags.length,
    active: flags.filter((f) => f.is_active).length,
    open: flags.filter((f) => f.circuit_status === 'open').map((f) => f.title),
    recovering: flags.filter((f) => f.circuit_status === 'recovery').map((f) => f.title),
    sequence,
    time,
  };
}

const HEARTBEAT_MS = 15_000;
const APPS_REFRESH_MS = 2_000;

class Client {
  private closed = false;
  constructor(private readonly res: ServerResponse) {}

  send<E extends keyof LiveEvents>(event: E, data: LiveEvents[E]): void {
    this.sendText(event, JSON.stringify(data));
  }

  /** `json` is already serialized (one ruleset of hundreds of flags is serialized once for all clients). */
  sendText(event: keyof LiveEvents, json: string): void {
    if (this.closed) return;
    this.res.write(`event: ${event}\ndata: ${json}\n\n`);
  }

  comment(text: string): void {
    if (!this.closed) this.res.write(`: ${text}\n\n`);
  }

  end(): void {
    if (this.closed) return;
    this.closed = true;
    this.res.end();
  }
}

interface AppWatch {
  readonly clients: Set<Client>;
  /** Other interests (the apps feed). */
  listeners: number;
  latest: RulesetEvent | undefined;
  /** Why the watch is not following the app right now (no stream yet, a lost consumer), if so. */
  waiting: string | undefined;
  stop: StopWatch;
}

export class LiveHub {
  private readonly watches = new Map<number, AppWatch>();
  private readonly appsClients = new Set<Client>();
  private readonly all = new Set<Client>();
  private appsTimer: NodeJS.Timeout | undefined;
  private readonly heartbeat: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly admin: FlagAdmin,
    private readonly logger: Logger,
  ) {
    this.heartbeat = setInterval(() => {
      for (const client of this.all) client.comment('keep-alive');
    }, HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  /** Answers an EventSource request: `app` set follows that app, otherwise the apps summary. */
  subscribe(res: ServerResponse, app: number | undefined): void {
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.write('retry: 1000\n\n');
    const client = new Client(res);
    this.all.add(client);
    res.on('close', () => {
      this.all.delete(client);
      if (app === undefined) {
        this.appsClients.delete(client);
        if (this.appsClients.size === 0) this.stopAppsFeed();
      } else {
        const watch = this.watches.get(app);
        watch?.clients.delete(client);
        this.release(app);
      }
    });
    if (this.closed) {
      client.end();
      return;
    }
    if (app === undefined) {
      this.appsClients.add(client);
      this.startAppsFeed();
      client.send('apps', this.appsSummary());
      return;
    }
    const watch = this.acquire(app);
    watch.clients.add(client);
    if (watch.latest !== undefined) client.send('ruleset', watch.latest);
    if (watch.waiting !== undefined) client.send('waiting', { appId: app, reason: watch.waiting });
  }

  /** Ends every event stream and stops every watch. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.heartbeat);
    this.stopAppsFeed();
    for (const client of this.all) client.end();
    this.all.clear();
    const stops = [...this.watches.values()].map((w) => w.stop());
    this.watches.clear();
    await Promise.all(stops.map((p) => p.catch(() => undefined)));
  }

  private acquire(app: number): AppWatch {
    let watch = this.watches.get(app);
    if (watch !== undefined) return watch;
    const created: AppWatch = {
      clients: new Set(),
      listeners: 0,
      latest: undefined,
      waiting: undefined,
      stop: () => Promise.resolve(),
    };
    this.watches.set(app, created);
    created.stop = this.admin.watch(app, (update) => this.onUpdate(created, update), {
      onWaiting: (reason) => {
        this.logger.debug(`dashboard: ${reason}`);
        created.waiting = reason;
        for (const client of created.clients) client.send('waiting', { appId: app, reason });
        this.sendAppsSummary();
      },
    });
    watch = created;
    return watch;
  }

  private release(app: number): void {
    const watch = this.watches.get(app);
    if (watch === undefined || watch.clients.size > 0 || watch.listeners > 0) return;
    this.watches.delete(app);
    watch
      .stop()
      .catch((error: unknown) => this.logger.warn(`dashboard: stopping the watch of app ${app}: ${String(error)}`));
  }

  private onUpdate(watch: AppWatch, update: RulesetUpdate): void {
    watch.waiting = undefined;
    if (update.flags === undefined) {
      const message = update.error?.message ?? 'invalid ruleset';
      for (const client of watch.clients)
        client.send('invalid', { appId: update.appId, sequence: update.sequence, message });
      return;
    }
    const event: RulesetEvent = {
      appId: update.appId,
      sequence: update.sequence,
      subject: update.subject,
      time: update.time.toISOString(),
      flags: update.flags,
      changedIds: update.initial
        ? []
        : [...update.diff.added, ...update.diff.removed, ...update.diff.changed].map((f) => f.id),
      initial: update.initial,
    };
    watch.latest = event;
    const text = JSON.stringify(event);
    for (const client of watch.clients) client.sendText('ruleset', text);
    this.sendAppsSummary();
  }

  private sendAppsSummary(): void {
    if (this.appsClients.size === 0) return;
    const summary = this.appsSummary();
    for (const client of this.appsClients) client.send('apps', summary);
  }

  /** Every app with a ruleset, each with whether the dashboard follows it live right now. */
  private appsSummary(): AppSummary[] {
    const out: AppSummary[] = [];
    for (const [id, watch] of this.watches) {
      if (watch.latest === undefined) continue;
      const summary = summarize(id, watch.latest.flags, watch.latest.sequence, watch.latest.time);
      out.push(
        watch.waiting === undefined
          ? { ...summary, following: 'live' }
          : { ...summary, following: 'waiting', waiting: watch.waiting },
      );
    }
    return out.sort((a, b) => a.id - b.id);
  }

  private startAppsFeed(): void {
    if (this.appsTimer !== undefined) return;
    const refresh = (): void => {
      this.admin
        .listApps()
        .then((ids) => {
          if (this.appsClients.size === 0 || this.closed) return;
          for (const id of ids) {
            if (this.watches.get(id)?.listeners) continue;
            this.acquire(id).listeners += 1;
          }
        })
        .catch((error: unknown) => this.logger.debug(`dashboard: listing apps: ${String(error)}`));
    };
    refresh();
    this.appsTimer = setInterval(refresh, APPS_REFRESH_MS);
    this.appsTimer.unref();
  }

  private stopAppsFeed(): void {
    if (this.appsTimer === undefined) return;
    clearInterval(this.appsTimer);
    this.appsTimer = undefined;
    for (const [id, watch] of this.watches) {
      if (watch.listeners > 0) {
        watch.listeners = 0;
        this.release(id);
      }
    }
  }
}
