/**
 * `FlagAdmin`: create, change and inspect flags without an admin server. The stream is the source
 * of truth: the newest message across `apps.<appId>.update.manual` and `.circuit` is the app's
 * whole ruleset, and every edit publishes a whole new one on the manual subject (see writer.ts for
 * how concurrent edits are kept from overwriting each other).
 */
import { type JetStreamClient, type JetStreamManager, type NatsConnection } from 'nats';
import { ConnectionError, InvalidOptionError } from '../errors';
import type { Logger } from '../logger';
import { openNats } from '../nats/open';
import { describeServers, errorMessage } from '../nats/errors';
import { appIdOption } from '../options';
import type { WireFlag } from '../ruleset/types';
import {
  addWhitelistedUsersEdit,
  createFlagEdit,
  deleteFlagEdit,
  findFlag,
  removeWhitelistedUsersEdit,
  replaceRulesetEdit,
  setActiveEdit,
  setCircuitEdit,
  setRolloutEdit,
  updateFlagEdit,
  validateRuleset,
  withNewFlagDefaults,
  type RulesetEdit,
} from './edits';
import { AdminClosedError, StreamNotFoundError, UnknownAppError, type FlagRef } from './errors';
import type { CircuitPatch, FlagPatch, NewFlagInput } from './fields';
import {
  ADMIN_CONNECTION_NAME,
  resolveAdminOptions,
  type FlagAdminOptions,
  type ResolvedAdminOptions,
} from './options';
import { decodeRuleset, readAppMessages, type InvalidFlag } from './read';
import { ensureStream, streamInfo, type EnsureStreamResult } from './stream';
import { ALL_APPS_SUBJECTS, STREAM_LAYOUTS, appIdOfSubject, type StreamLayout } from '../nats/subjects';
import {
  addTargetsEdit,
  changeTargetsEdit,
  clearTargetingEdit,
  removeTargetsEdit,
  setRulesEdit,
  setVariationsEdit,
  type TargetsChange,
  type VariationsPatch,
} from './targeting-edits';
import { watchRuleset, type RulesetUpdate, type StopWatch, type WatchOptions } from './watch';
import { applyEdit, type EditOutcome, type WriteOptions, type WriterContext } from './writer';

/** An app's current ruleset as read from the stream. */
export interface RulesetSnapshot {
  readonly appId: number;
  readonly flags: readonly WireFlag[];
  /** Stream sequence and subject of the message holding it (the newer of manual and circuit). */
  readonly sequence: number;
  readonly subject: string;
  /** When it was published. */
  readonly time: Date;
  /** Flags that fail validation (Tower accepts an empty title): kept verbatim by every edit. */
  readonly invalid: readonly InvalidFlag[];
  /** Every flag in order, as `ruleset get` prints it: the valid ones in the wire format, the invalid ones as stored. */
  readonly all: readonly unknown[];
}

interface Connected {
  readonly nc: NatsConnection;
  readonly owned: boolean;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly writer: WriterContext;
}

export class FlagAdmin {
  private readonly options: ResolvedAdminOptions;
  private readonly logger: Logger;
  private connected: Connected | undefined;
  private connecting: Promise<Connected> | undefined;
  private closed = false;
  private readonly watches = new Set<StopWatch>();

  /** Inert: validates options (throws `InvalidOptionError`) and opens nothing. */
  constructor(options: FlagAdminOptions) {
    this.options = resolveAdminOptions(options);
    this.logger = this.options.logger;
  }

  /** The ruleset stream's name. */
  get stream(): string {
    return this.options.nats.stream;
  }

  /**
   * Connects (or adopts the given connection) and checks that JetStream answers. Fails within
   * `connectTimeoutMs` with `ConnectionError`, or `AuthorizationError` when credentials are refused.
   */
  async connect(): Promise<void> {
    if (this.closed) throw new AdminClosedError('closed');
    this.connecting ??= this.open();
    try {
      this.connected = await this.connecting;
    } catch (err) {
      this.connecting = undefined;
      throw err;
    }
  }

  /** Stops every watch and closes the connection if this admin opened it. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const connecting = this.connecting;
    await Promise.all([...this.watches].map((stop) => stop()));
    this.watches.clear();
    const connected = this.connected ?? (await connecting?.catch(() => undefined));
    this.connected = undefined;
    if (connected?.owned && !connected.nc.isClosed()) await connected.nc.close();
  }

  /**
   * Creates the stream if missing (file storage, full history), or makes sure it captures the two
   * subjects of `appId`. `layout` applies to a new stream only: `literal` (default, Tower's
   * layout: Tower's control subjects plus literal subjects per app, which Tower and Aerobat can
   * use) or `wildcard` (`apps.*.update.*`, which they cannot). On an existing stream that does
   * not capture the app, its two literal subjects are appended, as Tower does; a stream that
   * captures it already (a wildcard one, say) is left as it is. Flag edits do this by themselves
   * before their first publish for an app. `replicas` (default 1) applies to a new stream only: 3
   * keeps the rulesets through the loss of one node of a 3-node JetStream cluster (docs/clusters.md).
   */
  async ensureStream(
    options: { appId?: number | string; layout?: StreamLayout; replicas?: number } = {},
  ): Promise<EnsureStreamResult> {
    const layout = options.layout ?? 'literal';
    const replicas = options.replicas ?? 1;
    if (!Number.isInteger(replicas) || replicas < 1 || replicas > 5) {
      throw new InvalidOptionError('replicas', replicas, 'an integer from 1 to 5 (3 on a 3-node JetStream cluster)');
    }
    if (!STREAM_LAYOUTS.includes(layout)) {
      throw new InvalidOptionError('layout', layout, STREAM_LAYOUTS.map((l) => `"${l}"`).join(' or '));
    }
    const { jsm } = this.ready();
    const appId = options.appId === undefined ? undefined : appIdOption(options.appId);
    return ensureStream(jsm, this.stream, appId, this.logger, layout, replicas);
  }

  /** Apps that have at least one ruleset message in the stream, ascending. */
  async listApps(): Promise<number[]> {
    const { jsm } = this.ready();
    const info = await streamInfo(jsm, this.stream, ALL_APPS_SUBJECTS);
    if (info === undefined) throw new StreamNotFoundError(this.stream);
    const ids = new Set<number>();
    for (const subject of Object.keys(info.state.subjects ?? {})) {
      const id = appIdOfSubject(subject);
      if (id !== undefined) ids.add(id);
    }
    return [...ids].sort((a, b) => a - b);
  }

  /**
   * The app's current ruleset: the newest message across its manual and circuit subjects, or
   * undefined when it has none. Read flag by flag: flags that fail validation are in `invalid`
   * (with why), the others in `flags`. Throws `InvalidRulesetError` (naming subject and sequence)
   * when that message is not a JSON array, and `StreamNotFoundError` when there is no stream.
   */
  async readRuleset(appId: number | string): Promise<RulesetSnapshot | undefined> {
    const { jsm } = this.ready();
    const id = appIdOption(appId);
    const { newest } = await readAppMessages(jsm, this.stream, id);
    if (newest === undefined) return undefined;
    const decoded = decodeRuleset(newest, id);
    const byId = new Map(decoded.flags.map((flag) => [flag.id, flag]));
    return {
      appId: id,
      flags: decoded.flags,
      sequence: newest.sequence,
      subject: newest.subject,
      time: newest.time,
      invalid: decoded.invalid,
      all: decoded.slots.map((slot) => (slot.invalid === undefined ? byId.get(slot.id) : slot.invalid.raw)),
    };
  }

  /** One flag of the app's current ruleset, by title or id. */
  async getFlag(appId: number | string, flag: FlagRef): Promise<WireFlag> {
    const id = appIdOption(appId);
    const snapshot = await this.readRuleset(id);
    if (snapshot === undefined) throw new UnknownAppError(id, this.stream);
    return snapshot.flags[findFlag(snapshot.flags, flag, id)] as WireFlag;
  }

  /**
   * Adds a flag: every field not given gets its default (see NEW_FLAG_DEFAULTS), the id is one above
   * the highest id ever handed out in the stream, `created_at`/`updated_at` are now. The app's
   * first flag creates the app (and adds its subjects to a Tower-style stream).
   */
  createFlag(appId: number | string, input: NewFlagInput): Promise<EditOutcome> {
    const title = typeof input === 'object' && input !== null ? input.title : undefined;
    return this.edit(appId, createFlagEdit(input), { what: `create flag ${JSON.stringify(title)}`, allApps: true });
  }

  /**
   * Changes any editable fields of a flag. With `expect` (fields and the values the caller saw) the
   * edit is applied only while the flag still has them, re-checked on every attempt; otherwise it
   * throws `FlagChangedError` carrying the current flag, and nothing is published.
   */
  updateFlag(
    appId: number | string,
    flag: FlagRef,
    patch: FlagPatch,
    options: { expect?: Readonly<Record<string, unknown>> } = {},
  ): Promise<EditOutcome> {
    return this.edit(appId, updateFlagEdit(flag, patch, options.expect), { what: `update flag ${describe(flag)}` });
  }

  deleteFlag(appId: number | string, flag: FlagRef): Promise<EditOutcome> {
    return this.edit(appId, deleteFlagEdit(flag), { what: `delete flag ${describe(flag)}` });
  }

  /** Turns a flag on (`true`) or off. */
  setActive(appId: number | string, flag: FlagRef, active: boolean): Promise<EditOutcome> {
    return this.edit(appId, setActiveEdit(flag, active), {
      what: `turn ${active ? 'on' : 'off'} flag ${describe(flag)}`,
    });
  }

  setRollout(appId: number | string, flag: FlagRef, percentage: number): Promise<EditOutcome> {
    return this.edit(appId, setRolloutEdit(flag, percentage), { what: `set the rollout of flag ${describe(flag)}` });
  }

  addWhitelistedUsers(appId: number | string, flag: FlagRef, users: string | readonly string[]): Promise<EditOutcome> {
    const list = typeof users === 'string' ? [users] : users;
    return this.edit(appId, addWhitelistedUsersEdit(flag, list), { what: `whitelist users on flag ${describe(flag)}` });
  }

  removeWhitelistedUsers(
    appId: number | string,
    flag: FlagRef,
    users: string | readonly string[],
  ): Promise<EditOutcome> {
    const list = typeof users === 'string' ? [users] : users;
    return this.edit(appId, removeWhitelistedUsersEdit(flag, list), {
      what: `remove whitelisted users from flag ${describe(flag)}`,
    });
  }

  /**
   * Sets a flag's variations, off variation and fallthrough (docs/targeting.md); what is left out
   * stays. The flag is validated whole (indexes of targets and rules included) before publishing.
   */
  setVariations(appId: number | string, flag: FlagRef, patch: VariationsPatch): Promise<EditOutcome> {
    return this.edit(appId, setVariationsEdit(flag, patch), { what: `set the variations of flag ${describe(flag)}` });
  }

  /** Removes a flag's variations, targets, rules and fallthrough: a plain boolean flag again. */
  clearTargeting(appId: number | string, flag: FlagRef): Promise<EditOutcome> {
    return this.edit(appId, clearTargetingEdit(flag), { what: `clear the targeting of flag ${describe(flag)}` });
  }

  /** Pins context keys to variation `variation` (a key pinned to another variation moves). */
  addTargets(appId: number | string, flag: FlagRef, variation: number, keys: readonly string[]): Promise<EditOutcome> {
    return this.edit(appId, addTargetsEdit(flag, variation, keys), { what: `add targets to flag ${describe(flag)}` });
  }

  /** Unpins, then pins context keys, as one edit (see `addTargets`). */
  changeTargets(appId: number | string, flag: FlagRef, change: TargetsChange): Promise<EditOutcome> {
    return this.edit(appId, changeTargetsEdit(flag, change), { what: `change the targets of flag ${describe(flag)}` });
  }

  /** Unpins context keys from the flag's targets. */
  removeTargets(appId: number | string, flag: FlagRef, keys: readonly string[]): Promise<EditOutcome> {
    return this.edit(appId, removeTargetsEdit(flag, keys), { what: `remove targets from flag ${describe(flag)}` });
  }

  /**
   * Replaces a flag's rules with `rules` (a JSON array; empty removes them). They are validated
   * with the flag before publishing: `InvalidFlagValueError` names the field down to the rule and
   * the clause, e.g. `rules[1].clauses[0].op`.
   */
  setRules(appId: number | string, flag: FlagRef, rules: unknown): Promise<EditOutcome> {
    return this.edit(appId, setRulesEdit(flag, rules), { what: `set the rules of flag ${describe(flag)}` });
  }

  /** Sets circuit-breaker fields (threshold, status, recovery settings). */
  setCircuit(appId: number | string, flag: FlagRef, patch: CircuitPatch): Promise<EditOutcome> {
    return this.edit(appId, setCircuitEdit(flag, patch), { what: `set the circuit of flag ${describe(flag)}` });
  }

  /**
   * Replaces the app's whole ruleset with `flags` (e.g. a parsed JSON file). Each flag needs `id`,
   * `title`, `is_active` and `rollout_percentage`; other fields left out get createFlag's defaults.
   * It is validated before anything is sent, as the SDK validates messages: `InvalidRulesetError`
   * lists each problem with the flag's index, title and field. A missing `created_at` keeps the
   * current flag's (same id) or is now, a missing `updated_at` is now; ids of other apps are refused.
   */
  async publishRuleset(
    appId: number | string,
    flags: unknown,
    options: { origin?: string } = {},
  ): Promise<EditOutcome> {
    const id = appIdOption(appId);
    const origin = options.origin ?? `the ruleset for app ${id}`;
    validateRuleset(withNewFlagDefaults(flags), origin, id);
    return this.edit(id, replaceRulesetEdit(flags, origin), {
      what: `publish ${origin}`,
      allApps: true,
      replace: true,
    });
  }

  /**
   * Applies `edit` (a pure function of the app's current ruleset, re-applied to a fresh read when
   * another writer got in first) and publishes the result on the app's circuit subject: how the
   * circuit breaker writes. Publishes nothing when the edit reports no change.
   */
  applyCircuitEdit(appId: number | string, edit: RulesetEdit, what: string): Promise<EditOutcome> {
    return this.edit(appId, edit, { what, circuit: true });
  }

  /**
   * Follows the app's ruleset: first the current one (`initial: true`), then every new message,
   * each with a diff against the previous valid ruleset. Returns a function that stops the watch.
   */
  watch(appId: number | string, onUpdate: (update: RulesetUpdate) => void, options: WatchOptions = {}): StopWatch {
    const { js, jsm } = this.ready();
    const stop = watchRuleset(js, jsm, this.stream, appIdOption(appId), onUpdate, options, this.logger);
    const tracked: StopWatch = async () => {
      this.watches.delete(tracked);
      await stop();
    };
    this.watches.add(tracked);
    return tracked;
  }

  private async edit(appId: number | string, edit: RulesetEdit, options: WriteOptions): Promise<EditOutcome> {
    const { writer } = this.ready();
    const outcome = await applyEdit(writer, appIdOption(appId), edit, options);
    if (outcome.published)
      this.logger.info(
        `app ${outcome.appId}: ${options.what}: published ${outcome.subject} #${outcome.sequence ?? '?'}`,
      );
    return outcome;
  }

  private ready(): Connected {
    if (this.closed) throw new AdminClosedError('closed');
    if (this.connected === undefined) throw new AdminClosedError('not connected');
    return this.connected;
  }

  private async open(): Promise<Connected> {
    const { nats } = this.options;
    const opened = await openNats(nats, {
      name: ADMIN_CONNECTION_NAME,
      connectTimeoutMs: this.options.connectTimeoutMs,
    });
    const { client: nc, owned } = opened;
    let jsm: JetStreamManager;
    try {
      jsm = await nc.jetstreamManager();
    } catch (err) {
      await opened.close();
      throw new ConnectionError(
        `JetStream does not answer on ${nats.servers.length > 0 ? describeServers(nats) : 'the given connection'} (is the server started with JetStream?): ${errorMessage(err)}`,
        { cause: err },
      );
    }
    const js = nc.jetstream();
    const writer: WriterContext = {
      js,
      jsm,
      stream: nats.stream,
      logger: this.logger,
      now: this.options.now,
      maxAttempts: this.options.maxAttempts,
      retryBaseMs: this.options.retryBaseMs,
      retryMaxMs: this.options.retryMaxMs,
    };
    if (this.closed) {
      await opened.close();
      throw new AdminClosedError('closed');
    }
    return { nc, owned, js, jsm, writer };
  }
}

function describe(flag: FlagRef): string {
  return typeof flag === 'number' ? `#${flag}` : JSON.stringify(flag);
}
