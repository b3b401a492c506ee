/** `tailslide stats [flag]`: success/failure counts and error rate per flag from Redis, with sparklines. */
import type { Command } from 'commander';
import type { WireFlag } from '../../ruleset/types';
import { MAX_SERIES_BUCKETS } from '../../signals/reader';
import { action, optionalStringArg, type CliDeps } from '../core/action';
import { badValue } from '../core/exit-codes';
import { pickFlag } from '../parse/flag-ref';
import { redactUrl } from '../format/common';
import { statsLines, type FlagStats, type StatsView } from '../format/stats';
import { type RedisFlags, withRedisOptions } from '../parse/options';
import { appIdFlag, parseDuration } from '../parse/values';
import { currentRuleset, withAdmin, withReader } from '../core/session';
import { FLAG_ARG_HELP, flagSubcommand, type FlagCommandFlags } from './flag-command';

type Flags = FlagCommandFlags & RedisFlags & { window: string; chart: string; bucket: string };

export function statsCommand(deps: CliDeps): Command {
  const cmd = flagSubcommand(
    'stats',
    'success and failure counts and error rate per flag over a window, from the signals in Redis',
    [
      'tailslide stats --app-id 1',
      'tailslide stats checkout-v2 --app-id 1 --window 1h --chart 30m --bucket 2m',
      'tailslide stats --app-id 1 --json --signal-backend native',
    ],
  )
    .argument('[flag]', `${FLAG_ARG_HELP}; every flag of the app when left out`)
    .option('--window <duration>', 'count the signals of this last stretch of time', '15m')
    .option('--chart <duration>', 'how far back the sparklines go', '10m')
    .option('--bucket <duration>', 'time per sparkline mark', '1m');
  withRedisOptions(cmd);
  return cmd.action(
    action<Flags>(deps, async ({ opts, args, out, session }) => {
      const appId = appIdFlag(opts.appId);
      const windowMs = parseDuration(opts.window, '--window');
      const chartMs = parseDuration(opts.chart, '--chart');
      const bucketMs = parseDuration(opts.bucket, '--bucket');
      if (windowMs < 1) throw badValue('--window', opts.window, 'a duration of at least 1ms');
      if (bucketMs < 1 || chartMs < bucketMs || chartMs / bucketMs > 1_000) {
        throw badValue('--bucket', opts.bucket, `a duration from ${opts.chart}/1000 to ${opts.chart} (the --chart)`);
      }
      const flagArg = optionalStringArg(args, 0);
      const snapshot = await withAdmin(session, opts, out, (admin) => currentRuleset(admin, appId));
      const flags: readonly WireFlag[] =
        flagArg === undefined ? snapshot.flags : [pickFlag(snapshot.flags, flagArg, appId)];

      const toMs = Date.now();
      const window = { fromMs: Math.max(0, toMs - windowMs + 1), toMs };
      const chartFrom = Math.max(0, toMs - chartMs + 1);
      const marks = Math.min(MAX_SERIES_BUCKETS, Math.ceil(chartMs / bucketMs));
      let backend: string = opts.signalBackend;
      const rows = await withReader(session, opts, async (reader) => {
        const one = async (flagId: number, title: string | undefined): Promise<FlagStats> => {
          const [counts, series] = await Promise.all([
            reader.flagCounts(flagId, window),
            reader.flagSeries(flagId, { fromMs: chartFrom, toMs, bucketMs }),
          ]);
          return { flagId, title, ...counts, series: series.slice(-marks) };
        };
        const known = await Promise.all(flags.map((flag) => one(flag.id, flag.title)));
        // The backend actually read: with "auto", the one found on the server.
        backend = reader.backendName ?? backend;
        if (flagArg !== undefined) return known;
        // Flags deleted from the ruleset may still have signals in the window: show them too.
        const ids = new Set(flags.map((f) => f.id));
        const others = (await reader.appCounts(appId, window)).filter((c) => !ids.has(c.flagId) && c.total > 0);
        return [...known, ...(await Promise.all(others.map((c) => one(c.flagId, undefined))))];
      });
      const view: StatsView = {
        appId,
        windowMs,
        chartMs,
        bucketMs,
        source: `${opts.redisUrl
          .split(',')
          .map((u) => redactUrl(u.trim()))
          .join(', ')} (backend ${backend})`,
        flags: rows,
      };
      out.result(
        { appId, backend, fromMs: window.fromMs, toMs, windowMs, bucketMs, sequence: snapshot.sequence, flags: rows },
        () => statsLines(view),
      );
    }),
  );
}
