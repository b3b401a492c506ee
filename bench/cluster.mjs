// Through a 3-node JetStream cluster (bench/lib/nats-cluster.mjs), R3 stream, file storage:
//   node bench/cluster.mjs --case propagation [--changes 300]
//       one manager; publish a change, wait for its `update` event; p50/p99 publish → update.
//   node bench/cluster.mjs --case fanout [--managers 1000] [--processes 4] [--updates 10]
//       `managers` FlagManagers spread over `processes` child processes (each manager its own
//       connection, spread over the nodes); each update is published once and timed until every
//       manager has it: per update, the time until the LAST one saw it; p50/p99 over updates, and
//       over every manager's own latency.
//   node bench/cluster.mjs --case recovery [--managers 6]
//       while a ruleset is published every 50 ms, SIGKILL the stream leader's node (the managers
//       connected to it lose their connection, the others their stream leader); per manager, the
//       time from JetStream being whole again (a stream and a meta leader) until it has a ruleset
//       published after that.
// Timing across processes uses Date.now() of one machine (ms resolution).
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { args, loadTailslide, log, quietLogger, report, summarize, wireRuleset } from './lib/common.mjs';
import { NatsCluster } from './lib/nats-cluster.mjs';

const opts = args();
const require = createRequire(import.meta.url);
const { connect } = require('nats');
const APP = 1;
const SUBJECT = `apps.${APP}.update.manual`;
const encoder = new TextEncoder();

/** @typedef {import('../src/index.js').FlagManager} FlagManager */
/** @typedef {import('./lib/nats-cluster.mjs').NatsCluster} Cluster */
/** @typedef {import('nats').JetStreamClient} JetStreamClient */
/** @typedef {{ seq: number, at: number }} Seen one manager's `update`: its sequence, when (Date.now()) */
/** @typedef {{ seq: number, sentAt: number }} Published a ruleset published: its sequence, when it was sent */

if (opts.worker !== undefined) await worker();
else if (opts.case === 'fanout') await fanout();
else if (opts.case === 'recovery') await recovery();
else await propagation();

/**
 * Runs `fn` against a fresh 3-node cluster with an R3 file stream, then stops it.
 * @param {(cluster: Cluster, js: JetStreamClient) => Promise<void>} fn
 */
async function withCluster(fn) {
  const cluster = await NatsCluster.start(3);
  /** @type {import('nats').NatsConnection | undefined} */
  let nc;
  try {
    nc = await connect({ servers: cluster.urls });
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({
      name: 'flags_ruleset',
      subjects: ['apps.*.update.*'],
      storage: /** @type {import('nats').StorageType} */ ('file'),
      num_replicas: 3,
    });
    await fn(cluster, nc.jetstream());
  } finally {
    await nc?.close();
    await cluster.stop();
  }
}

/**
 * The 10-flag ruleset of change `n` (its first flag's rollout and description differ per change).
 * @param {number} n
 */
function ruleset(n) {
  const flags = wireRuleset(10);
  const [head] = flags;
  if (head === undefined) throw new Error('wireRuleset(10) returned no flags');
  head.rollout_percentage = n % 101;
  head.description = `change ${n}`;
  return encoder.encode(JSON.stringify(flags));
}

async function propagation() {
  const CHANGES = Number(opts.changes ?? 300);
  const { FlagManager } = loadTailslide();
  await withCluster(async (cluster, js) => {
    await js.publish(SUBJECT, ruleset(0));
    const manager = new FlagManager({
      natsServer: cluster.urls,
      appId: APP,
      signalBackend: 'off',
      logger: quietLogger,
    });
    await manager.initialize();
    /** @type {number[]} */
    const ms = [];
    try {
      for (let i = 1; i <= CHANGES + 20; i++) {
        const seen = new Promise((resolve) => manager.once('update', resolve));
        const t0 = process.hrtime.bigint();
        await js.publish(SUBJECT, ruleset(i));
        await seen;
        if (i > 20) ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
    } finally {
      await manager.disconnect();
    }
    report({ case: 'propagation', changes: CHANGES, nodes: 3, replicas: 3, ms: summarize(ms) });
  });
}

async function fanout() {
  const MANAGERS = Number(opts.managers ?? 1_000);
  const PROCESSES = Number(opts.processes ?? 4);
  const UPDATES = Number(opts.updates ?? 10);
  await withCluster(async (cluster, js) => {
    await js.publish(SUBJECT, ruleset(0));
    const per = Math.ceil(MANAGERS / PROCESSES);
    /** @type {Map<number, number[]>} seq -> times */
    const seen = new Map();
    /** @type {import('node:child_process').ChildProcess[]} */
    const workers = [];
    /** @type {Promise<void>[]} */
    const ready = [];
    for (let p = 0; p < PROCESSES; p++) {
      const count = Math.min(per, MANAGERS - p * per);
      const child = spawn(
        process.execPath,
        [fileURLToPath(import.meta.url), '--worker', String(count), '--servers', cluster.urls.join(',')],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      workers.push(child);
      let out = '';
      ready.push(
        new Promise((/** @type {(value?: undefined) => void} */ resolve, reject) => {
          child.once('exit', (code) => reject(new Error(`fan-out worker exited with ${code}`)));
          child.stdout.on('data', (/** @type {Buffer} */ d) => {
            out += d.toString();
            let nl;
            while ((nl = out.indexOf('\n')) >= 0) {
              const line = out.slice(0, nl);
              out = out.slice(nl + 1);
              if (line === 'READY') resolve();
              else if (line.startsWith('SEEN ')) {
                const { seq, times } = /** @type {{ seq: number, times: number[] }} */ (JSON.parse(line.slice(5)));
                seen.set(seq, [...(seen.get(seq) ?? []), ...times]);
              }
            }
          });
        }),
      );
    }
    try {
      const t = Date.now();
      await Promise.all(ready);
      log(`${MANAGERS} managers in ${PROCESSES} processes ready in ${Date.now() - t} ms`);
      /** @type {number[]} */
      const lasts = [];
      /** @type {number[]} */
      const each = [];
      for (let u = 1; u <= UPDATES; u++) {
        const t0 = Date.now();
        const ack = await js.publish(SUBJECT, ruleset(u));
        const deadline = Date.now() + 30_000;
        while ((seen.get(ack.seq)?.length ?? 0) < MANAGERS) {
          if (Date.now() > deadline)
            throw new Error(`update ${u}: ${seen.get(ack.seq)?.length ?? 0} of ${MANAGERS} saw it`);
          await new Promise((r) => setTimeout(r, 10));
        }
        const times = (seen.get(ack.seq) ?? []).map((x) => x - t0);
        lasts.push(Math.max(...times));
        each.push(...times);
        await new Promise((r) => setTimeout(r, 500));
      }
      report({
        case: 'fanout',
        managers: MANAGERS,
        processes: PROCESSES,
        updates: UPDATES,
        lastMs: summarize(lasts),
        eachMs: summarize(each),
      });
    } finally {
      for (const w of workers) w.kill('SIGTERM');
    }
  });
}

async function recovery() {
  const MANAGERS = Number(opts.managers ?? 6);
  const { FlagManager } = loadTailslide();
  await withCluster(async (cluster, js) => {
    await js.publish(SUBJECT, ruleset(0));
    /** @type {FlagManager[]} */
    const managers = [];
    /** @type {Seen[][]} per manager, its updates */
    const seen = [];
    for (let i = 0; i < MANAGERS; i++) {
      const m = new FlagManager({ natsServer: cluster.urls, appId: APP, signalBackend: 'off', logger: quietLogger });
      /** @type {Seen[]} */
      const mine = [];
      m.on('update', (u) => mine.push({ seq: u.sequence, at: Date.now() }));
      m.on('error', () => undefined);
      seen.push(mine);
      managers.push(m);
    }
    await Promise.all(managers.map((m) => m.initialize()));
    /** @type {Published[]} */
    const published = [];
    let publishing = true;
    const publisher = (async () => {
      for (let n = 1; publishing; n++) {
        const sentAt = Date.now();
        try {
          const ack = await js.publish(SUBJECT, ruleset(n), { timeout: 1_000 });
          published.push({ seq: ack.seq, sentAt });
        } catch {
          // the cluster is electing: the next one goes through later
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    try {
      await new Promise((r) => setTimeout(r, 1_000));
      const leader = await cluster.waitWhole('flags_ruleset');
      const victim = cluster.nodes.find((n) => n.name === leader);
      if (victim === undefined) throw new Error(`the stream leader ${leader} is no node of the cluster`);
      const onVictim = (await victim.connectionNames()).filter((c) => c === 'tailslide-node').length;
      victim.child?.kill('SIGKILL');
      victim.child = undefined;
      const killedAt = Date.now();
      await cluster.waitWhole('flags_ruleset', leader);
      const wholeAt = Date.now();
      /**
       * The first ruleset published after JetStream was whole again, and the manager's first update at
       * or after it; undefined until both are there.
       * @param {Seen[]} mine
       */
      const caughtUp = (mine) => {
        const first = published.find((p) => p.sentAt >= wholeAt);
        const got = first && mine.find((s) => s.seq >= first.seq);
        return first && got ? { first, got } : undefined;
      };
      /** @type {number[]} */
      const ms = [];
      const deadline = Date.now() + 30_000;
      for (const mine of seen) {
        /** @type {ReturnType<typeof caughtUp>} */
        let hit;
        while (!(hit = caughtUp(mine))) {
          if (Date.now() > deadline) throw new Error('a manager did not follow within 30 s');
          await new Promise((r) => setTimeout(r, 10));
        }
        ms.push(hit.got.at - Math.max(wholeAt, hit.first.sentAt));
      }
      report({
        case: 'recovery',
        managers: MANAGERS,
        onKilledNode: onVictim,
        electionMs: wholeAt - killedAt,
        ms: summarize(ms),
      });
    } finally {
      publishing = false;
      await publisher;
      await Promise.all(managers.map((m) => m.disconnect()));
    }
  });
}

/** A fan-out worker: `--worker N --servers a,b,c`; prints READY, then SEEN {seq, times} per update. */
async function worker() {
  const { FlagManager } = loadTailslide();
  const count = Number(opts.worker);
  const servers = String(opts.servers).split(',');
  /** @type {FlagManager[]} */
  const managers = [];
  /** @type {Map<number, number[]>} sequence -> when each manager of this process saw it */
  const seen = new Map();
  for (let i = 0; i < count; i++) {
    const m = new FlagManager({
      natsServer: servers,
      appId: APP,
      signalBackend: 'off',
      logger: quietLogger,
      initTimeoutMs: 60_000,
    });
    managers.push(m);
    m.on('update', (u) => {
      const times = seen.get(u.sequence) ?? [];
      times.push(Date.now());
      seen.set(u.sequence, times);
      if (times.length === count) process.stdout.write(`SEEN ${JSON.stringify({ seq: u.sequence, times })}\n`);
    });
  }
  for (let i = 0; i < managers.length; i += 50) await Promise.all(managers.slice(i, i + 50).map((m) => m.initialize()));
  process.stdout.write('READY\n');
  const stop = async () => {
    await Promise.all(managers.map((m) => m.disconnect()));
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
}
