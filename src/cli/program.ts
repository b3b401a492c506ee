/** The `tailslide` command tree, and running it with exit codes and one-line errors. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { appsCommand } from './commands/apps';
import { demoCommand } from './commands/demo';
import { evaluateCommand } from './commands/evaluate';
import { flagsCommand } from './commands/flags';
import { rulesetCommand } from './commands/ruleset';
import { statsCommand } from './commands/stats';
import { streamCommand } from './commands/stream';
import { watchCommand } from './commands/watch';
import { EXIT, errorLine, exitCodeOf } from './exit-codes';
import { Output } from './output';

const FOOTER = `
Connection settings come from flags or environment variables (a flag wins):
  --nats-server      TAILSLIDE_NATS_SERVER      default nats://127.0.0.1:4222 (comma-separated list)
  --nats-stream      TAILSLIDE_NATS_STREAM      default flags_ruleset
  --sdk-key          TAILSLIDE_SDK_KEY          NATS token
  --nats-user        TAILSLIDE_NATS_USER        with --nats-password / TAILSLIDE_NATS_PASSWORD
  --nats-creds-file  TAILSLIDE_NATS_CREDS_FILE  or --nats-nkey-seed / TAILSLIDE_NATS_NKEY_SEED
  --app-id           TAILSLIDE_APP_ID
  --redis-url        TAILSLIDE_REDIS_URL        default redis://127.0.0.1:6379 (stats, demo)

Exit codes: 0 ok, 1 usage or bad value, 2 app/flag/stream not found, 3 connection, auth or server
refusal, 4 edit conflict (retry), 5 demo servers not installed, 70 internal error.`;

export function createProgram(): Command {
  const program = new Command('tailslide')
    .description('Manage and inspect Tailslide feature flags in NATS JetStream, and their signals in Redis.')
    .version(packageVersion(), '-V, --version')
    .addCommand(streamCommand())
    .addCommand(appsCommand())
    .addCommand(flagsCommand())
    .addCommand(rulesetCommand())
    .addCommand(evaluateCommand())
    .addCommand(watchCommand())
    .addCommand(statsCommand())
    .addCommand(demoCommand())
    .addHelpText('after', FOOTER);
  configure(program);
  return program;
}

/** Settings commander does not pass on to commands added with addCommand(): set them everywhere. */
function configure(command: Command): void {
  command.exitOverride();
  command.showHelpAfterError('(run with --help for usage)');
  command.configureOutput({
    outputError: (text, write) => write(`tailslide: ${text.replace(/^error: /, '')}`),
  });
  for (const sub of command.commands) configure(sub);
}

/** Runs the command line and returns the exit code; never throws. */
export async function runCli(argv: readonly string[], out: Output = new Output(false)): Promise<number> {
  const program = createProgram();
  try {
    await program.parseAsync([...argv]);
    return EXIT.OK;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has printed the message (or the help / version) already.
      return error.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    const code = exitCodeOf(error);
    out.error(errorLine(error));
    if (code === EXIT.INTERNAL || process.env.TAILSLIDE_DEBUG === '1') {
      if (process.env.TAILSLIDE_DEBUG === '1' && error instanceof Error && error.stack) out.note(error.stack);
      else if (code === EXIT.INTERNAL) out.note('(run again with TAILSLIDE_DEBUG=1 to see where it happened)');
    }
    return code;
  }
}

/** The version in the package's package.json (found by walking up from this file). */
function packageVersion(): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      try {
        const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown; version?: unknown };
        if (pkg.name === 'tailslide' && typeof pkg.version === 'string') return pkg.version;
      } catch {
        // keep looking
      }
    }
    dir = dirname(dir);
  }
  return '0.0.0';
}
