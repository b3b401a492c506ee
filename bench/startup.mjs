// Start-up: `initialize()` time and retained heap of a fresh manager, one measurement per process:
//   node --expose-gc bench/startup.mjs --flags 10000 --mode jetstream|offline
// jetstream: the ruleset is published to the bench's own nats-server first (by a connection that
// is closed before measuring), then a new manager connects, reads it and becomes ready.
// offline: the ruleset is a JSON file (`bootstrap: path`), so the bench holds no copy of it.
// Heap: used heap after two full GCs, before constructing the manager and after initialize()
// (the manager kept alive), so the growth is what the manager retains. External memory (Buffers)
// is reported beside it.
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { args, fullGc, loadTailslide, log, quietLogger, report, wireRuleset } from './lib/common.mjs';
import { NatsServer } from './lib/servers.mjs';

const opts = args();
const FLAGS = Number(opts.flags ?? 1_000);
const MODE = opts.mode ?? 'jetstream';
const APP = 1;

const require = createRequire(import.meta.url);
const { connect } = require('nats');
const { FlagManager } = loadTailslide();

function heap() {
  fullGc();
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers };
}

/** @type {NatsServer | undefined} */
let server;
/** @type {import('../src/index.js').FlagManager | undefined} */
let manager;
const dir = mkdtempSync(join(tmpdir(), 'tailslide-bench-startup-'));
try {
  /** @type {import('../src/index.js').FlagManagerOptions} */
  let options;
  let payloadBytes;
  {
    // the ruleset exists only inside this block; nothing of it is reachable when measuring
    const text = JSON.stringify(wireRuleset(FLAGS));
    payloadBytes = Buffer.byteLength(text);
    if (MODE === 'jetstream') {
      server = await NatsServer.start({ maxPayload: 16 * 1024 * 1024 });
      const nc = await connect({ servers: server.url });
      const jsm = await nc.jetstreamManager();
      await jsm.streams.add({ name: 'flags_ruleset', subjects: ['apps.*.update.*'] });
      await nc.jetstream().publish(`apps.${APP}.update.manual`, Buffer.from(text));
      await nc.close();
      options = {
        natsServer: server.url,
        appId: APP,
        signalBackend: 'off',
        logger: quietLogger,
        initTimeoutMs: 30_000,
      };
    } else if (MODE === 'offline') {
      const file = join(dir, 'ruleset.json');
      writeFileSync(file, text);
      options = { offline: true, appId: APP, bootstrap: file, logger: quietLogger };
    } else {
      throw new Error(`unknown --mode ${MODE}`);
    }
  }
  // warm the code paths that load lazily (so module loading is not counted as the ruleset's)
  {
    const warm = new FlagManager({ offline: true, appId: APP, bootstrap: wireRuleset(2), logger: quietLogger });
    await warm.initialize();
    warm.newToggler({ flagName: 'bench-flag-1' }).isFlagActive('someone');
    await warm.disconnect();
  }

  const before = heap();
  const t0 = process.hrtime.bigint();
  manager = new FlagManager(options);
  await manager.initialize();
  const initMs = Number(process.hrtime.bigint() - t0) / 1e6;
  if (!manager.initialized) throw new Error(`not ready after initialize() (${MODE}, ${FLAGS} flags)`);
  const count = manager.getFlags().length;
  if (count !== FLAGS) throw new Error(`expected ${FLAGS} flags, the manager has ${count}`);
  const after = heap();
  // the manager must still be alive at the second measurement
  manager.newToggler({ flagName: 'bench-flag-1' }).isFlagActive('someone');

  const heapGrowth = after.heapUsed - before.heapUsed;
  log(
    `startup ${MODE} ${FLAGS} flags: initialize ${initMs.toFixed(1)} ms, heap +${(heapGrowth / 1024).toFixed(0)} KB (${(heapGrowth / FLAGS).toFixed(0)} B/flag)`,
  );
  report({
    bench: 'startup',
    mode: MODE,
    flags: FLAGS,
    payloadBytes,
    initMs,
    heapGrowthBytes: heapGrowth,
    heapBytesPerFlag: heapGrowth / FLAGS,
    externalGrowthBytes: after.external - before.external,
  });
} finally {
  await manager?.disconnect();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
}
