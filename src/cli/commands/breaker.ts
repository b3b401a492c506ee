/** `tailslide breaker`: run the circuit breaker until Ctrl-C / SIGTERM, one line per transition. */
import { Command, Option } from 'commander';
import { CircuitBreaker } from '../../breaker/breaker';
import { transitionLine, transitionRecord } from '../format/breaker';
import {
  DEFAULT_BREAKER_MIN_REQUESTS,
  DEFAULT_BREAKER_POLL_INTERVAL_MS,
  DEFAULT_BREAKER_WINDOW_MS,
  type CircuitBreakerOptions,
} from '../../breaker/options';
import { action, type CliDeps } from '../core/action';
import { badValue } from '../core/exit-codes';
import { waitForInterrupt } from '../core/interrupt';
import {
  type JsonFlags,
  type NatsFlags,
  type RedisFlags,
  managerConnectionOptions,
  renameOptionError,
  signalBackend,
  withNatsOptions,
  withRedisOptions,
} from '../parse/options';
import { appIdFlag, parseChoice, parseDuration, parseInteger } from '../parse/values';

type Flags = NatsFlags &
  RedisFlags &
  JsonFlags & {
    appId?: string[];
    allApps?: boolean;
    mode: string;
    window: string;
    poll: string;
    minRequests: string;
  };

export function breakerCommand(deps: CliDeps): Command {
  const cmd = new Command('breaker')
    .summary('run the circuit breaker: switch flags off when their error rate passes the threshold, ramp them back')
    .description(
      "Run the circuit breaker until Ctrl-C or SIGTERM. Every poll it reads each watched flag's success and failure " +
        'signals over the window from Redis; a flag whose error rate is above its error_threshold_percentage (with at ' +
        'least --min-requests requests) is switched off (circuit open), and, if recoverable, ramped back after its ' +
        'recovery delay. Standalone mode publishes the rulesets itself; tower mode sends the control messages of ' +
        "Tailslide's breaker to Tower. Prints one line per transition (--json: one JSON object per line).",
    )
    .addOption(
      new Option('--app-id <id>', 'an app to watch (repeat for several; or comma-separated)')
        .env('TAILSLIDE_APP_ID')
        .argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), ...value.split(',')]),
    )
    .option('--all-apps', 'watch every app in the stream, and new ones as they appear')
    .addOption(
      new Option('--mode <mode>', 'standalone: publish rulesets; tower: send control messages to Tower')
        .choices(['standalone', 'tower'])
        .default('standalone'),
    )
    .option('--window <duration>', 'signals counted per decision', `${DEFAULT_BREAKER_WINDOW_MS / 1000}s`)
    .option('--poll <duration>', 'time between polls', `${DEFAULT_BREAKER_POLL_INTERVAL_MS}ms`)
    .option(
      '--min-requests <n>',
      'no trip below this many requests in the window',
      String(DEFAULT_BREAKER_MIN_REQUESTS),
    );
  withNatsOptions(cmd);
  withRedisOptions(cmd);
  cmd.option('--json', 'one JSON object per transition instead of a line of text');
  cmd.addHelpText(
    'after',
    '\nExamples:\n  npx tailslide breaker --app-id 1\n  npx tailslide breaker --all-apps --json\n' +
      '  npx tailslide breaker --app-id 1 --app-id 2 --mode tower --window 4s --poll 500ms',
  );
  return cmd.action(
    action<Flags>(deps, async ({ opts, out }) => {
      const options = breakerOptions(opts);
      let breaker: CircuitBreaker;
      try {
        breaker = new CircuitBreaker({ ...options, logger: out.logger(opts.verbose === true) });
      } catch (error) {
        throw renameOptionError(error);
      }
      const interrupt = waitForInterrupt();
      // What it watches of each app, on stderr: an app with no ruleset or no threshold is not silent.
      breaker.on('watching', (s) => out.note(`app ${s.appId}: ${s.text}`));
      breaker.on('transition', (t) => {
        if (out.json) out.record(transitionRecord(t));
        else out.line(transitionLine(t));
      });
      try {
        try {
          await breaker.start();
        } catch (error) {
          throw renameOptionError(error);
        }
        const apps =
          options.apps === 'all' ? 'every app' : `app${options.apps.length > 1 ? 's' : ''} ${options.apps.join(', ')}`;
        out.note(
          `breaker (${options.mode ?? 'standalone'} mode) watching ${apps} in stream "${opts.natsStream}": window ${opts.window}, poll ${opts.poll}, min ${opts.minRequests} requests (Ctrl-C to stop)`,
        );
        const signal = await interrupt.done;
        out.note(`stopping (${signal})`);
      } finally {
        interrupt.dispose();
        await breaker.stop();
      }
    }),
  );
}

function breakerOptions(opts: Flags): Omit<CircuitBreakerOptions, 'logger'> {
  const ids = (opts.appId ?? []).map((id) => id.trim()).filter((id) => id !== '');
  if (opts.allApps === true && ids.length > 0 && process.env.TAILSLIDE_APP_ID === undefined)
    throw badValue('--all-apps', true, 'either --all-apps or --app-id, not both');
  if (opts.allApps !== true && ids.length === 0)
    throw badValue('--app-id', '', 'at least one app id (or --all-apps for every app)');
  const windowMs = parseDuration(opts.window, '--window');
  if (windowMs < 1) throw badValue('--window', opts.window, 'a positive duration');
  const pollIntervalMs = parseDuration(opts.poll, '--poll');
  if (pollIntervalMs < 1) throw badValue('--poll', opts.poll, 'a positive duration');
  const connection = managerConnectionOptions(opts);
  const options: Omit<CircuitBreakerOptions, 'logger'> = {
    ...connection,
    signalBackend: signalBackend(opts),
    apps: opts.allApps === true ? 'all' : ids.map((id) => appIdFlag(id)),
    mode: parseChoice(opts.mode, '--mode', ['standalone', 'tower'] as const),
    windowMs,
    pollIntervalMs,
    minRequests: parseInteger(opts.minRequests, '--min-requests', 1),
    connectTimeoutMs: parseDuration(opts.connectTimeout, '--connect-timeout'),
  };
  return options;
}
