/**
 * The SDK on a 3-node JetStream cluster (test/support/nats-cluster.ts): an R3 stream made by the
 * admin library, managers given every node's URL, and nodes SIGKILLed while rulesets are
 * published every 50 ms: first the node a manager is connected to, then the stream's leader.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { connect, type NatsConnection } from 'nats';
import { FlagAdmin } from '../../src/admin';
import { FlagManager } from '../../src/manager';
import { RecordingLogger, waitFor, wireFlag } from '../support/flags';
import { NatsCluster, type ClusterNode } from '../support/nats-cluster';
import { sleep } from '../support/servers';

const run = promisify(execFile);
const CLI = join(__dirname, '..', '..', 'dist', 'cjs', 'cli', 'main.js');
const STREAM = 'flags_ruleset';
const APPS = [301, 302, 303];
const EDIT_APP = 310;
/** Managers must follow new rulesets this soon after JetStream is whole again… */
const RECOVERY_BOUND_MS = 3_000;
/**
 * …all but one of the six recoveries (3 managers, 2 kills): nats-server 2.9 keeps placing new R1
 * consumers on a killed node until it notices it is gone (not within 10 s here), and such a create
 * is never answered; each retry has a 1 in 3 chance of landing there again (docs/clusters.md). The
 * one left out must still be bounded.
 */
const RECOVERY_TAIL_MS = 10_000;

let cluster: NatsCluster;
/** Cleared to end the publisher and the editors (also when the test fails half-way). */
let publishing = true;
let admin: FlagAdmin;
let nc: NatsConnection;

interface Seen {
  readonly sequence: number;
  readonly at: number;
}

/** A manager and every update it applied, in order. */
interface Watched {
  readonly appId: number;
  readonly manager: FlagManager;
  readonly logger: RecordingLogger;
  readonly seen: Seen[];
}

const watched: Watched[] = [];
const T0 = Date.now();

/** Lines prefixed with the ms since the suite started, to read a slow recovery from. */
class TimedLogger extends RecordingLogger {
  override debug = (message: string): void =>
    void this.lines.push({ level: 'debug', message: `${Date.now() - T0} ${message}` });
  override info = (message: string): void =>
    void this.lines.push({ level: 'info', message: `${Date.now() - T0} ${message}` });
  override warn = (message: string): void =>
    void this.lines.push({ level: 'warn', message: `${Date.now() - T0} ${message}` });
  override error = (message: string): void =>
    void this.lines.push({ level: 'error', message: `${Date.now() - T0} ${message}` });
}

beforeAll(async () => {
  cluster = await NatsCluster.start(3);
  admin = new FlagAdmin({ nats: { servers: cluster.urls, stream: STREAM }, logger: new RecordingLogger() });
  await admin.connect();
  nc = await connect({ servers: cluster.urls, name: 'test-publisher', timeout: 5_000 });
}, 60_000);

afterAll(async () => {
  publishing = false;
  await sleep(1_200);
  await Promise.all(watched.map((w) => w.manager.disconnect()));
  await admin?.close();
  await nc?.close();
  await cluster?.dispose();
}, 30_000);

/** Each publish differs (its description), so each one applied is an `update` event to count. */
function ruleset(appId: number, n: number): string {
  return JSON.stringify([
    wireFlag({ id: appId * 10, app_id: appId, title: 'f', rollout_percentage: n % 101, description: `publish ${n}` }),
  ]);
}

test('stream init --replicas 3 (the CLI, given every node) makes an R3 stream placed on all three nodes', async () => {
  const env = { ...process.env, TAILSLIDE_NATS_STREAM: STREAM };
  const init = await run(
    process.execPath,
    [
      CLI,
      'stream',
      'init',
      '--replicas',
      '3',
      '--app-id',
      String(APPS[0]),
      '--nats-server',
      cluster.urls.join(','),
      '--json',
    ],
    { env, timeout: 30_000 },
  );
  expect(JSON.parse(init.stdout)).toMatchObject({ action: 'created', stream: STREAM });
  const info = await (await nc.jetstreamManager()).streams.info(STREAM);
  expect(info.config.num_replicas).toBe(3);
  expect(info.cluster?.leader).toBeTruthy();
  expect(info.cluster?.replicas?.length).toBe(2);
  // Asked again on the existing stream: unchanged, no warning; with 5, a warning and no change.
  const again = await admin.ensureStream({ appId: APPS[0], replicas: 3 });
  expect(again.action).toBe('unchanged');
  expect(again.warnings).toEqual([]);
  const more = await admin.ensureStream({ appId: APPS[0], replicas: 5 });
  expect(more.warnings.join('\n')).toMatch(/exists with 3 replica\(s\), not 5: it was left as it is/);
  await expect(admin.ensureStream({ replicas: 0 })).rejects.toThrow(/"replicas": 0/);
  const bad = await run(
    process.execPath,
    [CLI, 'stream', 'init', '--replicas', 'two', '--nats-server', cluster.urls[0] ?? ''],
    {
      env,
    },
  ).catch((err: { code: number; stderr: string }) => err);
  expect(bad).toMatchObject({ code: 1 });
  expect((bad as { stderr: string }).stderr).toMatch(/--replicas.*"two"/);
}, 60_000);

test('managers follow every ruleset through the loss of their node and of the stream leader', async () => {
  const js = nc.jetstream();
  for (const appId of [...APPS, EDIT_APP]) await admin.ensureStream({ appId });
  await admin.createFlag(EDIT_APP, { title: 'edited' });

  /** Acked publishes per app: sequence and when the publish was sent. */
  const published = new Map<number, { sequence: number; sentAt: number }[]>(APPS.map((a) => [a, []]));
  const publishErrors: string[] = [];
  const stalls: string[] = [];
  let n = 0;
  const publisher = (async () => {
    while (publishing) {
      const appId = APPS[n % APPS.length] ?? 0;
      n += 1;
      const sentAt = Date.now();
      try {
        const ack = await js.publish(`apps.${appId}.update.manual`, ruleset(appId, n), { timeout: 1_000 });
        published.get(appId)?.push({ sequence: ack.seq, sentAt });
      } catch (err) {
        publishErrors.push((err as Error).message);
      }
      await sleep(50);
    }
  })();
  for (const appId of APPS) await waitFor(() => (published.get(appId)?.length ?? 0) > 0, `a ruleset of app ${appId}`);

  for (const appId of APPS) {
    const logger = new TimedLogger();
    const manager = new FlagManager({
      // The first manager knows one node only: after that node dies it must find the others
      // from the servers the cluster advertises.
      natsServer: appId === APPS[0] ? (cluster.urls[0] ?? '') : cluster.urls,
      appId,
      logger,
      signalBackend: 'off',
      initTimeoutMs: 20_000,
      reconnectWaitMs: 250,
    });
    const w: Watched = { appId, manager, logger, seen: [] };
    manager.on('update', (u) => w.seen.push({ sequence: u.sequence, at: Date.now() }));
    // A consumer that stopped delivering (docs/clusters.md) is replaced by the liveness audit.
    manager.on('error', (error) => {
      if (/stopped delivering/.test(error.message)) stalls.push(`app ${appId}: ${error.message}`);
    });
    watched.push(w);
    await manager.initialize();
  }

  // Guarded edits from two admins at once, each adding users of its own to one flag.
  const editor2 = new FlagAdmin({ nats: { servers: cluster.urls, stream: STREAM }, logger: new RecordingLogger() });
  await editor2.connect();
  const added: string[] = [];
  const editErrors: string[] = [];
  const editors = [admin, editor2].map(async (editor, e) => {
    for (let i = 0; publishing; i++) {
      const user = `user-${e}-${i}`;
      try {
        await editor.addWhitelistedUsers(EDIT_APP, 'edited', user);
        added.push(user);
      } catch (err) {
        editErrors.push(`${user}: ${(err as Error).message}`);
      }
      await sleep(100);
    }
  });

  const lastSequence = (appId: number): number => published.get(appId)?.at(-1)?.sequence ?? 0;
  /** ms from `since` (the stream has a leader again) until every manager saw a ruleset published after it. */
  const recovery = async (since: number, what: string): Promise<number[]> => {
    const times: number[] = [];
    for (const w of watched) {
      let first: { sequence: number; sentAt: number } | undefined;
      await waitFor(
        () => (first = published.get(w.appId)?.find((p) => p.sentAt >= since)) !== undefined,
        `a publish to app ${w.appId} after ${what}`,
        20_000,
      );
      const target = first as unknown as { sequence: number; sentAt: number };
      await waitFor(
        () => w.seen.some((s) => s.sequence >= target.sequence),
        `app ${w.appId}'s manager to follow after ${what}`,
        20_000,
      ).catch((err: unknown) => {
        process.stdout.write(`app ${w.appId}:\n  ${w.logger.lines.map((l) => l.message).join('\n  ')}\n`);
        for (const node of cluster.nodes) process.stdout.write(`--- ${node.name}:\n${node.log.slice(-3_000)}\n`);
        throw err;
      });
      const seenAt = w.seen.find((s) => s.sequence >= target.sequence)?.at ?? Infinity;
      times.push(seenAt - Math.max(since, target.sentAt));
    }
    return times;
  };

  await sleep(500);
  // 1. The node the first manager is connected to (its consumer's inbox names its app).
  const focus = await nodeOfApp(APPS[0] ?? 0);
  expect(focus).toBe(cluster.nodes[0]);
  process.stdout.write(`${Date.now() - T0} killing ${focus.name}\n`);
  await focus.kill();
  // JetStream is whole again when the stream has a leader and so has the meta group (consumers
  // are created through the meta leader): recovery is measured from then.
  let leader = await cluster.waitForStreamLeader(STREAM, focus.name);
  await cluster.waitForMetaLeader(30_000, focus.name);
  process.stdout.write(`${Date.now() - T0} stream leader ${leader}\n`);
  const afterNodeLoss = await recovery(Date.now(), `killing ${focus.name}`);
  process.stdout.write(`recovery after killing ${focus.name} (leader now ${leader}): ${afterNodeLoss.join(', ')} ms\n`);
  await focus.start();
  await cluster.waitForMetaLeader();
  await waitForCurrentReplicas();

  // 2. The stream leader.
  leader = await cluster.waitForStreamLeader(STREAM);
  const oldLeader = cluster.node(leader);
  process.stdout.write(`${Date.now() - T0} killing leader ${oldLeader.name}\n`);
  await oldLeader.kill();
  await cluster.waitForStreamLeader(STREAM, oldLeader.name);
  await cluster.waitForMetaLeader(30_000, oldLeader.name);
  const afterLeaderLoss = await recovery(Date.now(), `killing the stream leader ${oldLeader.name}`);
  process.stdout.write(`recovery after killing leader ${oldLeader.name}: ${afterLeaderLoss.join(', ')} ms\n`);
  await oldLeader.start();
  await cluster.waitForMetaLeader();
  await waitForCurrentReplicas();
  await sleep(500);

  publishing = false;
  await publisher;
  await Promise.all(editors);
  await editor2.close();

  // Every manager ends on its app's newest ruleset (the stream's last message for the app: a publish
  // whose ack was lost in a leader change may still be stored), and never went back.
  const jsm = await nc.jetstreamManager();
  const newest = new Map<number, { sequence: number; description: string }>();
  for (const appId of APPS) {
    const last = await jsm.streams.getMessage(STREAM, { last_by_subj: `apps.${appId}.update.manual` });
    expect(last.seq).toBeGreaterThanOrEqual(lastSequence(appId));
    const [flag] = JSON.parse(new TextDecoder().decode(last.data)) as Array<{ description: string }>;
    newest.set(appId, { sequence: last.seq, description: flag?.description ?? '' });
  }
  for (const w of watched) {
    // Eventually: the recovery bounds are asserted above; this is that nothing is lost for good.
    // Compared by content: a replica out of step numbers the same message differently (seen).
    const target = newest.get(w.appId);
    await waitFor(
      () => w.manager.getFlag('f')?.description === target?.description,
      `app ${w.appId} on the newest (${target?.sequence ?? '?'}, ${target?.description ?? '?'})`,
      {
        // The end state, once publishing stopped. A stalled consumer is replaced within about 2 s
        // of its creation (the audit); a node that rejoins can also leave the manager's JetStream
        // requests timing out for several seconds first (seen: 8 s), which no client can shorten.
        timeoutMs: 15_000,
        details: () =>
          `seen up to ${w.seen.at(-1)?.sequence ?? 'none'}; manager log:\n  ` +
          w.logger.lines
            .filter((l) => !/ ruleset from /.test(l.message))
            .slice(-60)
            .map((l) => l.message)
            .join('\n  '),
      },
    );
    // Never back to an older ruleset, unless the stream itself went back (the audit said so).
    const rewound = w.logger.count('warn', /the stream leader holds the app only up to/) > 0;
    const sequences = w.seen.map((s) => s.sequence);
    if (!rewound) expect(sequences).toEqual([...sequences].sort((a, b) => a - b));
  }
  // One connection per manager across the cluster, none left behind.
  await waitFor(
    async () =>
      (await Promise.all(cluster.nodes.map((node) => node.connectionNames())))
        .flat()
        .filter((c) => c === 'tailslide-node').length === watched.length,
    'one connection per manager',
  );
  // No guarded edit failed and none was lost.
  expect(editErrors).toEqual([]);
  const flag = await admin.getFlag(EDIT_APP, 'edited');
  const users = new Set(flag.white_listed_users.split(','));
  expect(added.filter((u) => !users.has(u))).toEqual([]);
  // Edits go on through both losses (each waits out leader elections, so on a loaded machine there
  // may be few): some must have landed for the check above to mean anything.
  expect(added.length).toBeGreaterThan(5);

  process.stdout.write(
    `recovery after node loss ${afterNodeLoss.join(', ')} ms; after leader loss ${afterLeaderLoss.join(', ')} ms; ` +
      `${publishErrors.length} publish errors; ${added.length} edits; ${stalls.length} stalled consumers replaced\n`,
  );
  for (const w of watched) {
    for (const line of w.logger.lines.filter((l) => /stalled consumer|stopped delivering/.test(l.message)))
      process.stdout.write(`stall, app ${w.appId}: ${line.message}\n`);
  }
  if ([...afterNodeLoss, ...afterLeaderLoss].some((t) => t > RECOVERY_BOUND_MS)) {
    for (const w of watched)
      process.stdout.write(`app ${w.appId}:\n  ${w.logger.lines.map((l) => l.message).join('\n  ')}\n`);
  }
  const recoveries = [...afterNodeLoss, ...afterLeaderLoss];
  expect(recoveries.filter((t) => t > RECOVERY_BOUND_MS).length).toBeLessThanOrEqual(1);
  for (const t of recoveries) expect(t).toBeLessThanOrEqual(RECOVERY_TAIL_MS);
}, 180_000);

/** The running node holding the connection whose consumer inbox belongs to `appId`. */
async function nodeOfApp(appId: number): Promise<ClusterNode> {
  for (const node of cluster.nodes.filter((n) => n.running)) {
    const subs = await node.subscriptionsOfConnections('tailslide-node');
    if (subs.some((s) => s.startsWith(`_INBOX.tailslide.${appId}.`))) return node;
  }
  throw new Error(`no node holds the connection of app ${appId}`);
}

async function waitForCurrentReplicas(): Promise<void> {
  await waitFor(
    async () => {
      const placement = await cluster.streamPlacement(STREAM);
      return placement !== undefined && placement.leader !== '' && placement.replicas.every((r) => r.current);
    },
    'every replica current',
    30_000,
  );
}
