/* global document */
// The dashboard with a 500-flag app, in headless Chromium on loopback:
//   node --expose-gc bench/ui.mjs [--flags 500] [--loads 5] [--changes 20]
//
// Starts its own nats-server and redis-server, publishes a ruleset of `flags` flags, starts the
// dashboard (dist/cjs/ui) on a free port and opens the app page in Debian's chromium
// (playwright-core; TAILSLIDE_CHROMIUM overrides /usr/bin/chromium).
//   first render  navigation start → every flag card in the DOM, read in the page with
//                 performance.now() on an animation frame (assets, the API call, building the DOM);
//                 a fresh page per load, `loads` times;
//   live update   one flag's rollout changed by publishing the whole ruleset to JetStream (as the
//                 CLI, Tower or a breaker do) → its number shows in the page, timed from before
//                 the publish in this process to the page's frame that shows it (polled per frame
//                 through playwright: includes one round trip to the browser), `changes` times.
import { createRequire } from 'node:module';
import { args, loadInternal, log, quietLogger, report, summarize, wireRuleset } from './lib/common.mjs';
import { NatsServer, RedisServer } from './lib/servers.mjs';

const opts = args();
const FLAGS = Number(opts.flags ?? 500);
const LOADS = Number(opts.loads ?? 5);
const CHANGES = Number(opts.changes ?? 20);
const CHROMIUM = process.env.TAILSLIDE_CHROMIUM ?? '/usr/bin/chromium';
const require = createRequire(import.meta.url);
const { connect } = require('nats');
const { chromium } = require('playwright-core');
const { startDashboard } = loadInternal('ui/index.js');

const [nats, redis] = await Promise.all([NatsServer.start({ maxPayload: 8 * 1024 * 1024 }), RedisServer.start()]);
let nc;
let dashboard;
let browser;
try {
  nc = await connect({ servers: nats.url });
  const jsm = await nc.jetstreamManager();
  await jsm.streams.add({ name: 'flags_ruleset', subjects: ['apps.*.update.*'] });
  const js = nc.jetstream();
  const flags = wireRuleset(FLAGS);
  const payload = JSON.stringify(flags);
  await js.publish('apps.1.update.manual', payload);
  dashboard = await startDashboard({
    nats: { servers: nats.url },
    signals: { redisUrl: redis.url },
    port: 0,
    logger: quietLogger,
  });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const url = `${dashboard.url}#/apps/1`;
  const renderMs = [];
  let page;
  for (let i = 0; i < LOADS + 1; i++) {
    await page?.close();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(url, { waitUntil: 'commit' });
    const handle = await page.waitForFunction(
      (n) => document.querySelectorAll('article.flag').length === n && performance.now(),
      FLAGS,
      { polling: 'raf', timeout: 60_000 },
    );
    const ms = await handle.jsonValue();
    if (i > 0) renderMs.push(ms); // the first load warms the server (JIT, connections)
    log(`load ${i}: ${ms.toFixed(0)} ms${i === 0 ? ' (warm-up, not counted)' : ''}`);
  }

  const updateMs = [];
  for (let i = 0; i < CHANGES; i++) {
    const index = (i * 37) % FLAGS;
    const value = (i % 2 === 0 ? 12.3 : 45.6) + i / 10;
    const shown = String(Math.round(value * 10) / 10);
    flags[index] = {
      ...flags[index],
      rollout_percentage: Math.round(value * 10) / 10,
      updated_at: new Date().toISOString(),
    };
    const title = flags[index].title;
    const started = performance.now();
    await js.publish('apps.1.update.manual', JSON.stringify(flags));
    await page.waitForFunction(
      ([t, v]) => {
        const card = [...document.querySelectorAll('article.flag')].find(
          (el) => el.querySelector('.flag-title')?.textContent === t,
        );
        return card?.querySelector('input.rollout-number')?.value === v;
      },
      [title, shown],
      { polling: 'raf', timeout: 10_000 },
    );
    updateMs.push(performance.now() - started);
  }
  report({
    flags: FLAGS,
    payloadBytes: Buffer.byteLength(payload),
    loads: LOADS,
    changes: CHANGES,
    firstRenderMs: summarize(renderMs),
    liveUpdateMs: summarize(updateMs),
  });
} finally {
  await browser?.close();
  await dashboard?.close();
  await nc?.close();
  await Promise.all([nats.stop(), redis.stop()]);
}
