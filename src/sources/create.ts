/**
 * Which source a manager reads: a `source` factory of the user's, the offline source
 * (`offline: true`), or the app's JetStream stream.
 */
import { InvalidOptionError, TailslideError, toError } from '../errors';
import type { ResolvedOptions } from '../options';
import { JetStreamSource } from './jetstream';
import { OfflineSource } from './offline';
import type { DeliveryKind, FlagSource, RulesetOrigin } from './types';

export type CreatedSource =
  | {
      readonly ok: true;
      readonly source: FlagSource;
      /** What its messages are when they do not say. */
      readonly origin: RulesetOrigin;
      /** The same source when it is the offline one (`setRuleset` pushes to it). */
      readonly offline: OfflineSource | undefined;
    }
  | { readonly ok: false; readonly error: TailslideError };

/** Makes the source the options ask for. Never throws: a failing factory is returned as an error. */
export function createSource(options: ResolvedOptions): CreatedSource {
  const { offline, bootstrap, nats, appId, logger, sourceFactory, cacheFileMaxBytes } = options;
  if (sourceFactory !== undefined) {
    let made: unknown;
    try {
      made = sourceFactory({ appId, logger });
    } catch (err) {
      const message = `the "source" factory threw: ${toError(err).message}`;
      return { ok: false, error: new TailslideError('INVALID_OPTION', message, { cause: err }) };
    }
    if (!isFlagSource(made)) {
      return { ok: false, error: new InvalidOptionError('source', made, 'a factory returning a FlagSource') };
    }
    return { ok: true, source: made, origin: 'custom', offline: undefined };
  }
  if (offline || nats === undefined) {
    const source = new OfflineSource(bootstrap ?? [], appId, cacheFileMaxBytes);
    return { ok: true, source, origin: 'bootstrap', offline: source };
  }
  return { ok: true, source: new JetStreamSource({ nats, appId, logger }), origin: 'stream', offline: undefined };
}

/** How the source the options ask for delivers rulesets (`manager.health().delivery`). */
export function deliveryKind(options: ResolvedOptions): DeliveryKind {
  if (options.sourceFactory !== undefined) return 'custom';
  if (options.offline || options.nats === undefined) return 'offline';
  return 'consumer';
}

/** Whether a factory returned something with `start` and `close`. */
function isFlagSource(value: unknown): value is FlagSource {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<Record<keyof FlagSource, unknown>>;
  return typeof candidate.start === 'function' && typeof candidate.close === 'function';
}
