/** `tailslide demo`: a simulated service guarded by flags, with a live view (see demo/run.ts). */
import { Command } from 'commander';
import { action, type CliDeps } from '../core/action';
import { runDemo } from '../demo/run';
import { DEMO_APP_ID } from '../demo/setup';
import { badValue } from '../core/exit-codes';
import { type JsonFlags, type NatsFlags, type RedisFlags, withNatsOptions, withRedisOptions } from '../parse/options';
import { appIdFlag, parseDuration, parseInteger } from '../parse/values';

type Flags = NatsFlags &
  RedisFlags &
  JsonFlags & {
    appId: string;
    duration?: string;
    rate: string;
    startServers: boolean;
    ui: boolean;
    uiPort: string;
    breaker: boolean;
  };

export function demoCommand(deps: CliDeps): Command {
  const cmd = new Command('demo')
    .summary('a simulated service guarded by flags, with a live view of decisions and error rates')
    .description(
      'Run a simulated service whose operations are guarded by flags of a real FlagManager, with a live view of decisions and ' +
        'error rates, refreshed every second. Uses NATS and Redis at the configured addresses if they answer, otherwise starts ' +
        'nats-server and redis-server from PATH on free ports (stopped again at the end). Change a flag from a second terminal ' +
        '(the demo prints the commands) and watch the effect.',
    )
    .option('--duration <duration>', 'stop after this long (e.g. 30s, 5m); default: until Ctrl-C')
    .option(
      '--app-id <id>',
      'the demo app (TAILSLIDE_APP_ID is not used here, so the demo never edits your real app by accident)',
      String(DEMO_APP_ID),
    )
    .option('--rate <requests/s>', 'simulated requests per second', '200')
    .option('--no-start-servers', 'never start servers: fail if NATS or Redis does not answer')
    .option('--ui-port <port>', 'port of the dashboard on 127.0.0.1 (any free port when taken)', '4000')
    .option('--no-ui', 'do not start the dashboard')
    .option(
      '--no-breaker',
      'do not run the circuit breaker on the demo app (e.g. to run `tailslide breaker` yourself)',
    );
  withNatsOptions(cmd);
  withRedisOptions(cmd);
  cmd.option('--json', 'one JSON record per event (start, tick, change, stopped) instead of the live view');
  cmd.addHelpText(
    'after',
    '\nExamples:\n  npx tailslide demo\n  npx tailslide demo --duration 30s --app-id 1000\n  npx tailslide demo --nats-server nats://10.0.0.5:4222 --redis-url redis://10.0.0.5:6379',
  );
  return cmd.action(
    action<Flags>(deps, async ({ opts, out }) => {
      const durationMs = opts.duration === undefined ? undefined : parseDuration(opts.duration, '--duration');
      if (durationMs !== undefined && durationMs < 1)
        throw badValue('--duration', opts.duration, 'a positive duration');
      const ratePerSecond = parseInteger(opts.rate, '--rate', 1);
      if (ratePerSecond > 100_000) throw badValue('--rate', opts.rate, 'at most 100000 requests per second');
      const uiPort = opts.ui ? parseInteger(opts.uiPort, '--ui-port', 0) : undefined;
      if (uiPort !== undefined && uiPort > 65535) throw badValue('--ui-port', opts.uiPort, 'a port from 0 to 65535');
      await runDemo(
        {
          flags: opts,
          appId: appIdFlag(opts.appId),
          durationMs,
          ratePerSecond,
          startServers: opts.startServers,
          uiPort,
          breaker: opts.breaker,
        },
        out,
      );
    }),
  );
}
