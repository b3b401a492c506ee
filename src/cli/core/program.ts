/** The `tailslide` command tree, and running it with exit codes and one-line errors. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { appsCommand } from '../commands/apps';
import { breakerCommand } from '../commands/breaker';
import { demoCommand } from '../commands/demo';
import { evaluateCommand } from '../commands/evaluate';
import { flagsCommand } from '../commands/flags';
import { rulesetCommand } from '../commands/ruleset';
import { statsCommand } from '../commands/stats';
import { streamCommand } from '../commands/stream';
import { uiCommand } from '../commands/ui';
import { watchCommand } from '../commands/watch';
import { EXIT, EXIT_CODE_HELP, errorLine, exitCodeOf } from './exit-codes';
import { table } from '../format/common';
import { APP_ID_OPTION, NATS_OPTIONS, REDIS_OPTIONS } from '../parse/options';
import { Output, processStreams, type Streams } from '../format/output';
import type { CliDeps } from './action';
import { liveSession, type Session } from './session';
import { redactText } from '../../util/redact';

/** The settings and exit codes, after the command list of `tailslide --help`. */
function footer(): string {
  const specs = [...NATS_OPTIONS, APP_ID_OPTION, ...REDIS_OPTIONS];
  const settings = table(
    [{ header: 'FLAG' }, { header: 'ENVIRONMENT' }, { header: 'DEFAULT' }],
    specs.map((spec) => [spec.flags.split(' ')[0] ?? spec.flags, spec.env, spec.defaultValue ?? '']),
  );
  const codes = EXIT_CODE_HELP.map(([code, meaning]) => `${String(code).padStart(3)}  ${meaning}`);
  return [
    '',
    'Connection settings, as flags or environment variables (a flag wins):',
    ...settings.map((l) => `  ${l}`),
    '',
    'Exit codes:',
    ...codes,
  ].join('\n');
}

/** What `createProgram` may be given; left out, the real admin and reader and the process streams. */
export interface ProgramOptions {
  readonly session?: Session;
  readonly streams?: Streams;
}

export function createProgram(options: ProgramOptions = {}): Command {
  const deps: CliDeps = { session: options.session ?? liveSession, streams: options.streams ?? processStreams };
  const program = new Command('tailslide')
    .description('Manage and inspect Tailslide feature flags in NATS JetStream, and their signals in Redis.')
    .version(packageVersion(), '-V, --version')
    .addCommand(streamCommand(deps))
    .addCommand(appsCommand(deps))
    .addCommand(flagsCommand(deps))
    .addCommand(rulesetCommand(deps))
    .addCommand(evaluateCommand(deps))
    .addCommand(watchCommand(deps))
    .addCommand(statsCommand(deps))
    .addCommand(breakerCommand(deps))
    .addCommand(demoCommand(deps))
    .addCommand(uiCommand(deps))
    .addHelpText('after', footer());
  configure(program, deps.streams);
  return program;
}

/** Settings commander does not pass on to commands added with addCommand(): set them everywhere. */
function configure(command: Command, streams: Streams): void {
  command.exitOverride();
  command.showHelpAfterError('(run with --help for usage)');
  command.configureOutput({
    writeOut: (text) => streams.stdout.write(text),
    writeErr: (text) => streams.stderr.write(text),
    outputError: (text, write) => write(`tailslide: ${redactText(text.replace(/^error: /, ''))}`),
  });
  for (const sub of command.commands) configure(sub, streams);
}

/**
 * Runs the command line and returns the exit code; never throws. `argv` is as in `process.argv`
 * (node, script, then the arguments).
 */
export async function runCli(argv: readonly string[], options: ProgramOptions = {}): Promise<number> {
  const program = createProgram(options);
  const out = new Output(false, options.streams ?? processStreams);
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
