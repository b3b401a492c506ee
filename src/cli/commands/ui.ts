/** `tailslide ui`: the web dashboard (src/ui) on 127.0.0.1:4000 until Ctrl-C. */
import { Command, Option } from 'commander';
import { InvalidOptionError } from '../../errors';
import { DEFAULT_UI_HOST, DEFAULT_UI_PORT, startDashboard } from '../../ui';
import { action, type CliDeps } from '../core/action';
import { badValue } from '../core/exit-codes';
import { waitForInterrupt } from '../core/interrupt';
import {
  adminOptions,
  readerOptions,
  renameOptionError,
  withNatsOptions,
  withRedisOptions,
  type JsonFlags,
  type NatsFlags,
  type RedisFlags,
} from '../parse/options';
import { parseDuration, parseInteger } from '../parse/values';

type Flags = NatsFlags & RedisFlags & JsonFlags & { host: string; port: string; token?: string; sessionTtl?: string };

export function uiCommand(deps: CliDeps): Command {
  const cmd = new Command('ui')
    .summary('the web dashboard: change flags and watch signals and circuits live in a browser')
    .description(
      'Serve the web dashboard: apps, flags with on/off switches, rollout, whitelist and circuit settings, charts of the ' +
        'signals in Redis, the change history from the stream, live updates. Binds 127.0.0.1 unless told otherwise; any other ' +
        'address needs a token (then every request must carry it). Runs until Ctrl-C.',
    )
    .option('--host <address>', 'address to listen on (a non-loopback address needs --token)', DEFAULT_UI_HOST)
    .option('--port <port>', 'port to listen on (0: a free port)', String(DEFAULT_UI_PORT))
    .addOption(
      new Option('--token <token>', 'access token (at least 16 characters) every request must carry').env(
        'TAILSLIDE_UI_TOKEN',
      ),
    )
    .option('--session-ttl <duration>', 'how long a login lasts, e.g. 30m, 12h or ms (default 12h; at least 1s)');
  withNatsOptions(cmd);
  withRedisOptions(cmd);
  cmd.option('--json', 'print the start record as JSON');
  cmd.addHelpText(
    'after',
    '\nExamples:\n  npx tailslide ui\n  npx tailslide ui --port 8080\n  TAILSLIDE_UI_TOKEN=$(openssl rand -hex 16) npx tailslide ui --host 0.0.0.0',
  );
  return cmd.action(
    action<Flags>(deps, async ({ opts, out }) => {
      const port = parseInteger(opts.port, '--port', 0);
      if (port > 65535) throw badValue('--port', opts.port, 'a port from 0 to 65535');
      const sessionTtlMs =
        opts.sessionTtl !== undefined ? parseDuration(opts.sessionTtl, '--session-ttl', 'ms') : undefined;
      const interrupt = waitForInterrupt();
      try {
        let dashboard;
        try {
          dashboard = await startDashboard({
            ...adminOptions(opts, out.logger(opts.verbose === true)),
            signals: readerOptions(opts),
            host: opts.host,
            port,
            ...(opts.token !== undefined ? { token: opts.token } : {}),
            ...(sessionTtlMs !== undefined ? { sessionTtlMs } : {}),
          });
        } catch (error) {
          if (error instanceof InvalidOptionError && error.option === 'sessionTtlMs')
            throw badValue(
              '--session-ttl',
              opts.sessionTtl ?? '',
              'a duration of at least 1s, such as 30m or 12h (a bare number is ms)',
            );
          if (error instanceof InvalidOptionError && ['host', 'port', 'token'].includes(error.option))
            throw badValue(`--${error.option}`, error.option === 'token' ? '(hidden)' : error.value, expectedOf(error));
          throw renameOptionError(error);
        }
        out.result({ event: 'listening', url: dashboard.url, token: opts.token !== undefined }, () => [
          `tailslide ui: ${dashboard.url}${opts.token !== undefined ? ' (log in with the token)' : ''}`,
          'Ctrl-C to stop',
        ]);
        await out.flush();
        await interrupt.done;
        await dashboard.close();
        out.note('tailslide ui: stopped');
      } finally {
        interrupt.dispose();
      }
    }),
  );
}

function expectedOf(error: InvalidOptionError): string {
  return /\(expected (.*)\)$/s.exec(error.message)?.[1] ?? 'a valid value';
}
