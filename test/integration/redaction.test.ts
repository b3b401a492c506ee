/**
 * Credentials in URLs never reach any output: every failure path of a FlagManager given a NATS or
 * Redis URL with a secret in it (refused, unreachable, invalid) and of the `tailslide` command,
 * with all it says captured (logger, events, error messages and their inspection, stdout, stderr)
 * and searched for the secret. Real nats-servers; the built CLI (dist/) as a child process.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { FlagManager, type FlagManagerOptions } from '../../src/index';
import { connect } from 'nats';
import { RecordingLogger, wireFlag } from '../support/flags';
import { freePort, NatsServer } from '../support/servers';

const SECRET = 'Sup3rSecretPw';
const MAIN = join(__dirname, '..', '..', 'dist', 'cjs', 'cli', 'main.js');

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

async function server(options: { user?: string; password?: string; token?: string }): Promise<NatsServer> {
  const started = await NatsServer.start(options);
  cleanups.push(() => started.dispose());
  return started;
}

/** Everything a manager said and emitted until `until` settles, as one text. */
async function runManager(
  options: Partial<FlagManagerOptions>,
  until: (manager: FlagManager) => Promise<unknown>,
): Promise<string> {
  const logger = new RecordingLogger();
  const said: string[] = [];
  const manager = new FlagManager({ appId: 1, logger, signalBackend: 'off', initTimeoutMs: 3_000, ...options });
  cleanups.push(() => manager.disconnect());
  manager.on('error', (error) => said.push(`error event: ${error.message} ${inspect(error)}`));
  manager.on('failed', (error) => said.push(`failed event: ${error.message} ${inspect(error)}`));
  manager.on('stale', ({ reason }) => said.push(`stale event: ${reason}`));
  try {
    await until(manager);
  } catch (err) {
    said.push(`thrown: ${inspect(err)}`);
  }
  await manager.disconnect();
  return [...logger.lines.map((l) => `${l.level}: ${l.message}`), ...said].join('\n');
}

function runCli(args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = {};
    for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('TAILSLIDE_')) env[key] = value;
    const child = spawn(process.execPath, [MAIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += `stdout: ${d.toString()}`));
    child.stderr.on('data', (d: Buffer) => (output += `stderr: ${d.toString()}`));
    const killer = setTimeout(() => child.kill('SIGKILL'), 25_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(killer);
      resolve(`${output}exit ${code}`);
    });
  });
}

function expectNoSecret(output: string, mustSay: RegExp): void {
  expect(output).not.toContain(SECRET);
  expect(output).toMatch(mustSay);
}

test('a user and password in the URL of a server that wants them: refused "without credentials", the password hidden', async () => {
  const nats = await server({ user: 'alice', password: SECRET });
  const url = `nats://alice:${SECRET}@127.0.0.1:${nats.port}`;
  const output = await runManager({ natsServer: url }, (m) => m.initialize());
  expectNoSecret(output, /refused the connection without credentials/);
  expect(output).toContain(`nats://alice:***@127.0.0.1:${nats.port}`);
  expect(output).toMatch(/failed event: /);
  expect(output).toMatch(/thrown: AuthorizationError/);
});

test('a token in the URL: refused "without credentials", the token hidden', async () => {
  const nats = await server({ token: SECRET });
  const output = await runManager({ natsServer: `nats://${SECRET}@127.0.0.1:${nats.port}` }, (m) => m.initialize());
  expectNoSecret(output, /refused the connection without credentials/);
  expect(output).toContain(`nats://***@127.0.0.1:${nats.port}`);
});

test('credentials in the URL and wrong natsUser/natsPassword: refused, the URL redacted', async () => {
  const nats = await server({ user: 'alice', password: 'right-one' });
  const output = await runManager(
    { natsServer: `nats://bob:${SECRET}@127.0.0.1:${nats.port}`, natsUser: 'alice', natsPassword: 'wrong' },
    (m) => m.initialize(),
  );
  expectNoSecret(output, /refused the user "alice" and password/);
});

test('nothing listening: the stale event, the error event and the warnings name the URL redacted', async () => {
  const port = await freePort();
  const output = await runManager(
    { natsServer: `nats://alice:${SECRET}@127.0.0.1:${port}`, reconnectWaitMs: 100 },
    async (m) => {
      await m.initialize();
      if (m.initialized) throw new Error('ready without a server');
    },
  );
  expectNoSecret(output, new RegExp(`stale event: cannot connect to NATS nats://alice:\\*\\*\\*@127.0.0.1:${port}`));
  expect(output).toMatch(/error event: cannot connect/);
});

test('invalid options quote the URL redacted (message, value and inspection)', () => {
  const bad: Array<Partial<FlagManagerOptions>> = [
    { natsServer: 'nats://127.0.0.1:4222', redisUrl: `http://u:${SECRET}@127.0.0.1:6379` },
    { natsServer: `ftp://u:${SECRET}@127.0.0.1:4222` },
    { natsServer: [`nats://127.0.0.1:4222`, `u:${SECRET}@ bad host`] },
  ];
  for (const options of bad) {
    let output = '';
    try {
      new FlagManager({ appId: 1, ...options });
    } catch (err) {
      output = `${(err as Error).message}\n${inspect(err)}\n${JSON.stringify((err as { value?: unknown }).value)}`;
    }
    expectNoSecret(output, /^Invalid option "(redisUrl|natsServer(\[\d\])?)": ".*\*\*\*@/);
  }
});

test('the tailslide command: a refusal and an unreachable server, in its stdout and stderr', async () => {
  const nats = await server({ user: 'alice', password: SECRET });
  const refused = await runCli([
    'flags',
    'list',
    '--app-id',
    '1',
    '--nats-server',
    `nats://alice:${SECRET}@127.0.0.1:${nats.port}`,
  ]);
  expectNoSecret(refused, /refused the connection without credentials/);
  expect(refused).toContain('nats://alice:***@');

  const port = await freePort();
  const unreachable = await runCli([
    'flags',
    'list',
    '--app-id',
    '1',
    '--nats-server',
    `nats://alice:${SECRET}@127.0.0.1:${port}`,
  ]);
  expectNoSecret(unreachable, /nats:\/\/alice:\*\*\*@127\.0\.0\.1/);

  const invalid = await runCli(['flags', 'list', '--app-id', '1', '--nats-server', `ftp://u:${SECRET}@127.0.0.1`]);
  expectNoSecret(invalid, /Invalid value for --nats-server: "ftp:\/\/u:\*\*\*@127\.0\.0\.1"/);

  // Signals read from a Redis that is not there, or given as a URL of the wrong scheme.
  const open = await NatsServer.start();
  cleanups.push(() => open.dispose());
  const nc = await connect({ servers: open.url });
  await (await nc.jetstreamManager()).streams.add({ name: 'flags_ruleset', subjects: ['apps.*.update.*'] });
  const ruleset = JSON.stringify([wireFlag({ id: 1, title: 'redaction-flag' })]);
  await nc.jetstream().publish('apps.1.update.manual', new TextEncoder().encode(ruleset));
  await nc.close();
  const stats = (redisUrl: string): Promise<string> =>
    runCli(['stats', '--app-id', '1', '--nats-server', open.url, '--redis-url', redisUrl]);
  expectNoSecret(await stats(`redis://:${SECRET}@127.0.0.1:${port}`), /exit [1-9]$/);
  expectNoSecret(await stats(`http://:${SECRET}@127.0.0.1:${port}`), /:\*\*\*@/);
}, 60_000);
