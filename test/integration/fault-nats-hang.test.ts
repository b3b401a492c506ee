/**
 * Fault suite, a NATS server that hangs: a real nats-server frozen with SIGSTOP (it still accepts
 * TCP, through the kernel, and never answers). Connect attempts must not leave sockets behind, a
 * process that calls disconnect() must exit by itself, and a hang must be reported within seconds.
 */
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { connect, StorageType } from 'nats';
import { FlagManager, type FlagManagerOptions } from '../../src/index';
import { CONNECT_TIMEOUT_MS, MAX_PINGS_OUT, PING_INTERVAL_MS } from '../../src/nats/connect';
import { activeResources, expectNoExtraResources, settledResources } from '../support/handles';
import { RecordingLogger, waitFor, wireFlag } from '../support/flags';
import { NatsServer, sleep } from '../support/servers';

const DIST = join(__dirname, '..', '..', 'dist', 'cjs', 'index.js');
const STREAM = 'flags_ruleset';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
});

async function startServer(): Promise<NatsServer> {
  const server = await new NatsServer().start();
  cleanups.push(async () => {
    server.thaw();
    await server.dispose();
  });
  const nc = await connect({ servers: server.url });
  await (
    await nc.jetstreamManager()
  ).streams.add({ name: STREAM, subjects: ['apps.*.update.*'], storage: StorageType.File });
  const ruleset = JSON.stringify([wireFlag({ id: 1, title: 'hang-flag' })]);
  await nc.jetstream().publish('apps.1.update.manual', new TextEncoder().encode(ruleset));
  await nc.close();
  return server;
}

function newManager(
  server: NatsServer,
  extra: Partial<FlagManagerOptions> = {},
): {
  manager: FlagManager;
  logger: RecordingLogger;
  stale: string[];
} {
  const logger = new RecordingLogger();
  const manager = new FlagManager({
    natsServer: server.url,
    appId: 1,
    logger,
    signalBackend: 'off',
    reconnectWaitMs: 100,
    initTimeoutMs: 1_000,
    ...extra,
  });
  cleanups.push(() => manager.disconnect());
  const stale: string[] = [];
  manager.on('stale', ({ reason }) => stale.push(reason));
  return { manager, logger, stale };
}

const tcpSockets = (): number => activeResources().get('TCPSocketWrap') ?? 0;

/**
 * Samples `count()` every 100 ms for `ms`. An attempt's socket is closed as the next attempt
 * opens its own, so one sample may catch both; a leak shows as a count that keeps growing.
 */
async function sample(count: () => number, ms: number): Promise<{ most: number; overOne: number; samples: number }> {
  let most = 0;
  let overOne = 0;
  let samples = 0;
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const n = count();
    most = Math.max(most, n);
    if (n > 1) overOne += 1;
    samples += 1;
    await sleep(100);
  }
  return { most, overOne, samples };
}

/** Connections the server's kernel holds open on its port (accepted or waiting in its backlog). */
function serverSideSockets(port: number): number | undefined {
  try {
    const out = execFileSync('ss', ['-Htn', 'state', 'established', `( sport = :${port} )`], { encoding: 'utf8' });
    return out.split('\n').filter((line) => line.trim() !== '').length;
  } catch {
    return undefined; // no `ss` here: the client-side count still holds
  }
}

test('a server frozen before the first connect: attempts time out without leaving sockets, disconnect() frees all', async () => {
  const server = await startServer();
  const before = await settledResources();
  const socketsBefore = tcpSockets();
  server.freeze();
  const { manager, logger } = newManager(server);
  const errors: string[] = [];
  manager.on('error', (error) => errors.push(error.message));

  await manager.initialize(); // not ready after 1 s: still trying
  expect(manager.initialized).toBe(false);
  // Three attempts or more (each times out after CONNECT_TIMEOUT_MS): never more than one socket.
  let serverMost = 0;
  const client = await sample(
    () => {
      serverMost = Math.max(serverMost, serverSideSockets(server.port) ?? 0);
      return tcpSockets() - socketsBefore;
    },
    3 * CONNECT_TIMEOUT_MS + 1_000,
  );
  expect(logger.matching('debug', /cannot connect to NATS .*\(attempt [3-9]\)/).length).toBeGreaterThan(0);
  // Without the fix: one more socket per attempt, 4 after three timeouts.
  expect(client.most).toBeGreaterThanOrEqual(1);
  expect(client.most).toBeLessThanOrEqual(2);
  expect(client.overOne).toBeLessThanOrEqual(2);
  expect(serverMost).toBeLessThanOrEqual(2);
  // The first timeout is reported at once, and only once.
  expect(errors).toEqual([expect.stringMatching(/^cannot connect to NATS .*: TIMEOUT; retrying$/)]);

  const disconnecting = Date.now();
  await manager.disconnect();
  expect(Date.now() - disconnecting).toBeLessThan(1_000);
  await expectNoExtraResources(before, 'resources after disconnect() during the hang', 1_000);
  expect(serverSideSockets(server.port) ?? 0).toBe(0);
}, 40_000);

test('a connected server that freezes: stale within seconds, reconnect attempts leave no sockets, and back when it thaws', async () => {
  const server = await startServer();
  const before = await settledResources();
  const socketsBefore = tcpSockets();
  const { manager, logger, stale } = newManager(server, { initTimeoutMs: 10_000 });
  await manager.initialize();
  expect(manager.state).toBe('ready');

  server.freeze();
  const frozenAt = Date.now();
  await waitFor(() => stale.length > 0, 'the stale event', 15_000);
  const detectedMs = Date.now() - frozenAt;
  // One tick of pings after MAX_PINGS_OUT unanswered ones (4 to 6 s), plus slack for a busy machine
  // (was 20 to 30 s before).
  expect(detectedMs).toBeGreaterThanOrEqual(MAX_PINGS_OUT * PING_INTERVAL_MS - 100);
  expect(detectedMs).toBeLessThanOrEqual((MAX_PINGS_OUT + 1) * PING_INTERVAL_MS + 3_000);
  expect(stale).toEqual([expect.stringMatching(/^NATS server .* stopped answering \(2 pings in a row unanswered/)]);
  expect(logger.matching('warn', /stopped answering.*; serving the last ruleset while reconnecting$/)).toHaveLength(1);

  // Reconnect attempts, each timing out: never more than the one socket of the attempt in flight.
  const reconnecting = await sample(() => tcpSockets() - socketsBefore, 2 * CONNECT_TIMEOUT_MS + 1_000);
  expect(reconnecting.most).toBeLessThanOrEqual(2);
  expect(reconnecting.overOne).toBeLessThanOrEqual(2);
  expect(manager.getFlag('hang-flag')).toBeDefined(); // still serving the last ruleset

  const reconnected = new Promise<void>((resolve) => manager.once('reconnected', () => resolve()));
  server.thaw();
  await reconnected;
  expect(manager.state).toBe('ready');
  await manager.disconnect();
  await expectNoExtraResources(before, 'resources after disconnect()');
}, 45_000);

/** Runs a child process with the built package; resolves with its output and how long it lived after `disconnected`. */
function runChild(
  script: string,
  onLine: (line: string) => void,
): Promise<{ code: number | null; lines: string[]; exitAfterDisconnectMs: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    let disconnectedAt = 0;
    let buffered = '';
    const kill = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      const parts = buffered.split('\n');
      buffered = parts.pop() ?? '';
      for (const line of parts) {
        lines.push(line);
        if (line === 'disconnected') disconnectedAt = Date.now();
        onLine(line);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => lines.push(`stderr: ${chunk.toString()}`));
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(kill);
      resolve({ code, lines, exitAfterDisconnectMs: disconnectedAt === 0 ? Infinity : Date.now() - disconnectedAt });
    });
  });
}

function childScript(url: string, disconnectOn: 'stale' | 'timer'): string {
  return `
const { FlagManager } = require(${JSON.stringify(DIST)});
const quiet = () => undefined;
const manager = new FlagManager({
  natsServer: ${JSON.stringify(url)}, appId: 1, signalBackend: 'off', reconnectWaitMs: 100, initTimeoutMs: 1000,
  logger: { debug: quiet, info: quiet, warn: quiet, error: quiet },
});
const stop = () => manager.disconnect().then(() => console.log('disconnected'));
manager.on('stale', () => { console.log('stale'); ${disconnectOn === 'stale' ? 'void stop();' : ''} });
manager.initialize().then(() => {
  console.log('initialized ' + manager.state);
  ${disconnectOn === 'timer' ? 'setTimeout(stop, 7000);' : ''}
});
`;
}

test('a process that calls disconnect() while the server is frozen exits by itself (during the first connect and after a drop)', async () => {
  const server = await startServer();
  server.freeze();
  const first = await runChild(childScript(server.url, 'timer'), () => undefined);
  expect(first.lines).toEqual(['initialized initializing', 'stale', 'disconnected']);
  expect(first.code).toBe(0);
  expect(first.exitAfterDisconnectMs).toBeLessThan(2_000);

  server.thaw();
  const second = await runChild(childScript(server.url, 'stale'), (line) => {
    if (line === 'initialized ready') server.freeze();
  });
  expect(second.lines).toEqual(['initialized ready', 'stale', 'disconnected']);
  expect(second.code).toBe(0);
  expect(second.exitAfterDisconnectMs).toBeLessThan(2_000);
}, 60_000);
