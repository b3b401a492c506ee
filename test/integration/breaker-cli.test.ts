/**
 * `tailslide breaker`, run as a child process (the built CLI) against a real nats-server and
 * redis-server: one JSON line per transition, a clean stop on SIGTERM, usage errors.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { FlagAdmin } from '../../src/admin/flag-admin';
import { FlagManager } from '../../src/index';
import { RecordingLogger, waitFor } from '../support/flags';
import { NatsServer, RedisServer } from '../support/servers';

const MAIN = join(__dirname, '..', '..', 'dist', 'cjs', 'cli', 'main.js');

let nats: NatsServer;
let redis: RedisServer;
let admin: FlagAdmin;

beforeAll(async () => {
  [nats, redis] = await Promise.all([NatsServer.start(), RedisServer.start()]);
  admin = new FlagAdmin({ nats: { servers: nats.url }, logger: new RecordingLogger() });
  await admin.connect();
  await admin.ensureStream();
});

afterAll(async () => {
  await admin?.close();
  await Promise.all([nats?.dispose(), redis?.dispose()]);
});

function run(args: readonly string[]) {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('TAILSLIDE_')) env[key] = value;
  const child = spawn(
    process.execPath,
    [MAIN, 'breaker', '--nats-server', nats.url, '--redis-url', redis.url, ...args],
    {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const io = { stdout: '', stderr: '' };
  child.stdout.on('data', (d: Buffer) => (io.stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (io.stderr += d.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), 25_000);
  const exited = new Promise<number | null>((resolve) =>
    child.once('close', (code) => {
      clearTimeout(killer);
      resolve(code);
    }),
  );
  return { child, io, exited };
}

it('prints a JSON line per transition and stops cleanly on SIGTERM', async () => {
  const appId = 41;
  await admin.createFlag(appId, {
    title: 'checkout-v2',
    is_active: true,
    rollout_percentage: 100,
    error_threshold_percentage: 30,
  });
  const cli = run(['--app-id', String(appId), '--json', '--signal-backend', 'native', '--min-requests', '10']);
  const manager = new FlagManager({
    natsServer: nats.url,
    appId,
    redisUrl: redis.url,
    signalBackend: 'native',
    signalFlushIntervalMs: 100,
    logger: new RecordingLogger(),
  });
  try {
    await manager.initialize();
    await waitFor(() => /watching app 41/.test(cli.io.stderr), 'the breaker to start');
    const toggler = manager.newToggler({ flagName: 'checkout-v2' });
    for (let i = 0; i < 20; i++) toggler.emitFailure();
    await waitFor(() => cli.io.stdout.includes('\n'), 'a transition line');
    await waitFor(() => !toggler.isFlagActive('u'), 'the manager to see the flag off');
  } finally {
    await manager.disconnect();
    cli.child.kill('SIGTERM');
  }
  expect(await cli.exited).toBe(0);
  const lines = cli.io.stdout.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(JSON.parse(lines[0] ?? '')).toMatchObject({
    event: 'transition',
    kind: 'open',
    appId,
    title: 'checkout-v2',
    from: 'close',
    to: 'open',
    failure: 20,
  });
  expect(cli.io.stderr).toMatch(/stopping \(SIGTERM\)/);
});

it('says what it watches of each app: no ruleset, no threshold, watched, and again when that changes', async () => {
  await admin.createFlag(43, { title: 'no-threshold', is_active: true, error_threshold_percentage: 0 });
  const cli = run(['--app-id', '42,43', '--signal-backend', 'native']);
  try {
    await waitFor(() => /app 42: 0 flags watched: no ruleset/.test(cli.io.stderr), 'the no-ruleset line');
    await waitFor(
      () => /app 43: 1 flag, none with a threshold \(error_threshold_percentage\)/.test(cli.io.stderr),
      'the no-threshold line',
    );
    await admin.createFlag(43, { title: 'guarded', is_active: true, error_threshold_percentage: 20 });
    await waitFor(() => /app 43: 1 of 2 flags watched/.test(cli.io.stderr), 'the line after the change');
  } finally {
    cli.child.kill('SIGTERM');
    await cli.exited;
  }
});

it.each([
  [[], /--app-id/],
  [['--app-id', '1', '--window', 'soon'], /--window/],
  [['--app-id', '1', '--mode', 'aerobat'], /--mode/],
  [['--app-id', 'x'], /--app-id/],
])('refuses %j with exit code 1', async (args, message) => {
  const cli = run(args);
  expect(await cli.exited).toBe(1);
  expect(cli.io.stderr).toMatch(message);
});

it('exits with code 3 when NATS cannot be reached', async () => {
  const cli = run(['--app-id', '1', '--connect-timeout', '1s', '--nats-server', 'nats://127.0.0.1:1']);
  expect(await cli.exited).toBe(3);
  expect(cli.io.stderr).toMatch(/could not connect to NATS at nats:\/\/127\.0\.0\.1:1/i);
});

it('the demo runs the breaker: checkout-v2 trips a few seconds in (--json)', async () => {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('TAILSLIDE_')) env[key] = value;
  const child = spawn(
    process.execPath,
    [MAIN, 'demo', '--json', '--duration', '9s', '--app-id', '77', '--nats-server', nats.url, '--redis-url', redis.url],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  expect(code).toBe(0);
  const events = stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { event: string; kind?: string; title?: string });
  expect(events.filter((e) => e.event === 'transition')[0]).toMatchObject({ kind: 'open', title: 'checkout-v2' });
}, 20_000);
