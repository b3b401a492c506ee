/**
 * The NATS connection of the JetStream source: opens one (or adopts the injected one), watches
 * its status, reports connection states to the sink, and tells the source when JetStream is
 * usable. Closes only a connection it opened.
 */
import {
  DebugEvents,
  Events,
  type JetStreamClient,
  type JetStreamManager,
  type NatsConnection,
  type Status,
} from 'nats';
import { ConnectionError, isTailslideError, toError, type TailslideError } from '../errors';
import type { Logger } from '../logger';
import { MAX_PINGS_OUT, natsConnectionOptions, PING_INTERVAL_MS } from '../nats/connect';
import { permissionRefusal, type PermissionRefusal } from '../nats/permissions';
import { dialNats, type NatsDial } from '../nats/transport';
import type { ResolvedNatsOptions } from '../options';
import { authorizationError, describeServers, errorMessage, isAuthError, isTlsError, tlsError } from '../nats/errors';
import { jittered, LEADER_CHANGE_FAST_RETRIES, Pause } from './jetstream-timing';
import type { SourceSink } from './types';

/**
 * Timeout of the first JetStream API requests of a sync. A cluster drops requests to a stream that
 * is electing a leader: a short timeout (then a quick retry, see LEADER_CHANGE_RETRY_MS) lets a
 * manager follow again soon after the election instead of waiting out a request sent before it.
 * Requests after failures get longer ones (`apiTimeout`), up to JS_API_TIMEOUT_MAX_MS.
 */
export const JS_API_TIMEOUT_MS = 1_000;
export const JS_API_TIMEOUT_MAX_MS = 5_000;

/**
 * The timeout after `failures` failed attempts in a row: JS_API_TIMEOUT_MS while the source retries
 * quickly (LEADER_CHANGE_FAST_RETRIES: an election drops requests, and a long timeout would only
 * delay the retry that gets through), then ×1.5 each time up to JS_API_TIMEOUT_MAX_MS, so that a
 * server that is slow rather than electing is met in the end.
 */
export function apiTimeout(failures: number): number {
  const growth = Math.max(0, failures - LEADER_CHANGE_FAST_RETRIES);
  return Math.min(JS_API_TIMEOUT_MAX_MS, Math.round(JS_API_TIMEOUT_MS * 1.5 ** growth));
}

/** A usable connection and its JetStream handles. */
export interface JetStreamLink {
  readonly nc: NatsConnection;
  readonly jsm: JetStreamManager;
  readonly js: JetStreamClient;
}

export interface ConnectionHandlers {
  /** The link is usable: first connect, a replacement connection, or back after a reconnect. */
  up(link: JetStreamLink): void;
  /** The link dropped (the client reconnects by itself) or closed (a new one may follow). */
  down(): void;
  /** Retrying cannot help (credentials refused, TLS misconfigured): the source must stop. */
  fatal(error: TailslideError): void;
  /** The server refused a publish or a subscription (reported asynchronously, for any of them). */
  refused(refusal: PermissionRefusal): void;
}

export class SourceConnection {
  private link: JetStreamLink | undefined;
  private online = false;
  private stopped = false;
  private statusIterator: AsyncIterable<Status> | undefined;
  private readonly pause = new Pause();
  /** Our connect in flight, aborted by stop(). */
  private dial: NatsDial | undefined;
  /** The client found the connection stale (pings unanswered): the next Disconnect is a hang. */
  private hung = false;

  constructor(
    private readonly nats: ResolvedNatsOptions,
    private readonly logger: Logger,
    private readonly sink: SourceSink,
    private readonly handlers: ConnectionHandlers,
    /** Inbox prefix of a connection we open (see appInboxPrefix). */
    private readonly inboxPrefix?: string,
  ) {}

  /** The link while connected; undefined while disconnected or closed. */
  get current(): JetStreamLink | undefined {
    return this.online ? this.link : undefined;
  }

  start(): void {
    void this.run().catch((err: unknown) =>
      this.handlers.fatal(new ConnectionError(`NATS connection failed: ${errorMessage(err)}`, { cause: err })),
    );
  }

  /** Stops all work; closes the connection if we opened it (awaited by close(), not by fatal). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.pause.cancel();
    this.dial?.abort();
    const link = this.link;
    this.link = undefined;
    this.online = false;
    stopIterator(this.statusIterator);
    this.statusIterator = undefined;
    if (link === undefined || this.nats.connection !== undefined) return;
    try {
      await link.nc.close();
    } catch (err) {
      this.logger.debug(`closing NATS: ${errorMessage(err)}`);
    }
  }

  private async run(): Promise<void> {
    const nc = this.nats.connection ?? (await this.connectOwned());
    if (nc === undefined || this.stopped) return;
    if (nc.isClosed()) {
      this.handlers.fatal(new ConnectionError('the NATS connection given as natsConnection is closed'));
      return;
    }
    const link: JetStreamLink = {
      nc,
      jsm: await nc.jetstreamManager({ checkAPI: false, timeout: JS_API_TIMEOUT_MS }),
      js: nc.jetstream({ timeout: JS_API_TIMEOUT_MS }),
    };
    if (this.stopped) return;
    this.link = link;
    this.online = true;
    this.watch(nc);
    this.logger.debug(`connected to NATS ${nc.getServer()}`);
    this.sink.connection('connected');
    this.handlers.up(link);
  }

  /**
   * Opens a connection of our own. Not with `waitOnFirstConnect`: checked on nats 2.29.3, it
   * retries every failure of the first connect in silence (refused credentials aside), so a TLS
   * misconfiguration would hang forever. Each attempt here tries every server once and says why
   * it failed; once connected, the client's own reconnect policy (forever) takes over.
   */
  private async connectOwned(): Promise<NatsConnection | undefined> {
    let attempt = 0;
    while (!this.stopped) {
      try {
        const options = { ...natsConnectionOptions(this.nats), waitOnFirstConnect: false };
        if (this.inboxPrefix !== undefined) options.inboxPrefix = this.inboxPrefix;
        const dial = dialNats(options);
        this.dial = dial;
        const nc = await dial.connection.finally(() => {
          this.dial = undefined;
        });
        if (!this.stopped) return nc;
        await nc.close().catch(() => undefined);
        return undefined;
      } catch (err) {
        if (this.stopped) return undefined;
        const server = describeServers(this.nats);
        if (isTailslideError(err)) return this.giveUp(err);
        if (isAuthError(err)) return this.giveUp(authorizationError(this.nats, server, err));
        if (isTlsError(err)) return this.giveUp(tlsError(this.nats, server, err));
        attempt += 1;
        const reason = `cannot connect to NATS ${server}: ${errorMessage(err)}`;
        if (attempt === 1) {
          this.sink.connection('stale', { reason, error: err });
          this.sink.error(new ConnectionError(`${reason}; retrying`, { cause: err }));
        } else {
          this.logger.debug(`${reason} (attempt ${attempt})`);
        }
        await this.pause.wait(jittered(this.nats.reconnectWaitMs));
      }
    }
    return undefined;
  }

  private giveUp(error: TailslideError): undefined {
    this.handlers.fatal(error);
    return undefined;
  }

  private watch(nc: NatsConnection): void {
    const statuses = nc.status();
    this.statusIterator = statuses;
    void (async () => {
      for await (const status of statuses) {
        if (this.stopped || this.link?.nc !== nc) return;
        this.onStatus(status);
      }
    })().catch((err: unknown) => this.logger.debug(`NATS status watch ended: ${errorMessage(err)}`));
    nc.closed()
      .then(
        (err) => this.onClosed(nc, err),
        (err: unknown) => this.onClosed(nc, toError(err)),
      )
      .catch((err: unknown) => this.logger.error(`JetStream source: ${errorMessage(err)}`));
  }

  private onStatus(status: Status): void {
    const data = typeof status.data === 'string' ? status.data : JSON.stringify(status.data);
    switch (status.type) {
      case DebugEvents.StaleConnection:
        this.hung = true;
        return;
      case Events.Disconnect: {
        this.online = false;
        const reason = this.hung
          ? `NATS server ${data} stopped answering (${MAX_PINGS_OUT} pings in a row unanswered, ` +
            `one every ${PING_INTERVAL_MS / 1_000} s)`
          : `disconnected from NATS ${data}`;
        this.hung = false;
        this.sink.connection('stale', { reason });
        this.handlers.down();
        return;
      }
      case Events.Reconnect:
        this.online = true;
        this.logger.debug(`reconnected to NATS ${data}`);
        this.sink.connection('connected');
        if (this.link !== undefined) this.handlers.up(this.link);
        return;
      case DebugEvents.Reconnecting:
        this.logger.debug(`reconnecting to NATS ${data}`);
        return;
      case Events.Error: {
        const refusal = permissionRefusal(status);
        if (refusal !== undefined) this.handlers.refused(refusal);
        else this.logger.debug(`NATS ${status.type}: ${data}`);
        return;
      }
      case Events.LDM:
        this.logger.debug(`NATS ${status.type}: ${data}`);
        return;
      default:
        return;
    }
  }

  /**
   * The client closed the connection by itself. With reconnects forever, that is a server that
   * started refusing our credentials (the client gives up after two refusals in a row).
   */
  private onClosed(nc: NatsConnection, err: void | Error): void {
    if (this.stopped || this.link?.nc !== nc) return;
    this.link = undefined;
    this.online = false;
    stopIterator(this.statusIterator);
    this.statusIterator = undefined;
    this.handlers.down();
    const server = nc.getServer() || describeServers(this.nats);
    if (isAuthError(err)) {
      this.handlers.fatal(authorizationError(this.nats, server, err));
      return;
    }
    const why = err ? `: ${errorMessage(err)}` : '';
    if (this.nats.connection !== undefined) {
      this.stopped = true;
      this.sink.connection('stale', {
        reason: `the NATS connection given as natsConnection was closed${why}`,
        error: err,
      });
      return;
    }
    this.sink.connection('stale', { reason: `NATS connection to ${server} closed${why}`, error: err });
    this.sink.error(new ConnectionError(`NATS connection to ${server} closed${why}; connecting again`, { cause: err }));
    this.start();
  }
}

/** Ends a `nats` status iterator (typed as a plain AsyncIterable, it has `stop()`). */
function stopIterator(iterator: unknown): void {
  if (isStoppable(iterator)) iterator.stop();
}

function isStoppable(value: unknown): value is { stop(): void } {
  return typeof value === 'object' && value !== null && 'stop' in value && typeof value.stop === 'function';
}
