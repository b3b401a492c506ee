// The dashboard with a 500-flag app, in headless Chromium on loopback:
//   node --expose-gc bench/ui.mjs [--flags 500] [--loads 5] [--changes 20]
//
// Starts its own nats-server and redis-server, publishes a ruleset of `flags` flags, starts the
// dashboard (dist/cjs/ui) on a free port and opens the app page in Debian's chromium
// (playwright-core; TAILSLIDE_CHROMIUM overrides /usr/bin/chromium).
//   first render  navigation start → the frame after every flag card is in the DOM (a mark the
//                 page sets: assets, the API call or the live snapshot, building the DOM); a fresh
//                 page per load, `loads` times;
//   live ready    navigation start → the live feed's first event applied (the page follows changes);
//   live update   one flag's rollout changed by publishing the whole ruleset to JetStream (as the
//                 CLI, Tower or a breaker do) → the frame after the page shows it, from the wall
//                 clock before the publish here to the wall-clock time the page marks, `changes` times.
import { createRequire } from 'node:module';
import { args, loadInternal, log, quietLogger, report, summarize, wireRuleset } from './lib/common.mjs';
import { launchChromium } from './lib/chromium.mjs';
import { NatsServer, RedisServer } from './lib/servers.mjs';

const opts = args();
const FLAGS = Number(opts.flags ?? 500);
const LOADS = Number(opts.loads ?? 5);
const CHANGES = Number(opts.changes ?? 20);
const require = createRequire(import.meta.url);
const { connect } = require('nats');
const { startDashboard } = loadInternal('ui/index.js');

// In-page functions (they run in the browser, where `document` exists; functions, not strings,
// since the dashboard's CSP forbids eval). The page's globals are reached through globalThis.
/** @typedef {{ querySelector(selector: string): { textContent: string | null, value?: string } | null }} PageElement */
/** @typedef {{ startTime: number, detail: { sequence: number, at: number } }} PageMark */
/** @typedef {{ querySelectorAll(selector: string): ArrayLike<PageElement> }} PageDocument */

/** @param {number} n  the [shown, live] times once n cards are in the page and both marks are set */
function renderedAt(n) {
  const doc = /** @type {PageDocument} */ (Reflect.get(globalThis, 'document'));
  const shown = /** @type {PageMark[]} */ (/** @type {unknown} */ (performance.getEntriesByName('tailslide:shown')))[0];
  const live = /** @type {PageMark[]} */ (/** @type {unknown} */ (performance.getEntriesByName('tailslide:live')))[0];
  return (
    shown !== undefined &&
    live !== undefined &&
    doc.querySelectorAll('article.flag').length === n && [shown.startTime, live.startTime]
  );
}

/** @param {{ sequence: number, title: string, value: string }} want  wall-clock time the page showed it */
function shownAt(want) {
  const doc = /** @type {PageDocument} */ (Reflect.get(globalThis, 'document'));
  const all = /** @type {PageMark[]} */ (/** @type {unknown} */ (performance.getEntriesByName('tailslide:shown')));
  const mark = all.find((m) => m.detail.sequence >= want.sequence);
  if (mark === undefined) return false;
  const card = Array.from(doc.querySelectorAll('article.flag')).find(
    (el) => el.querySelector('.flag-title')?.textContent === want.title,
  );
  return card?.querySelector('input.rollout-number')?.value === want.value && mark.detail.at;
}

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
  browser = await launchChromium();
  const url = `${dashboard.url}#/apps/1`;
  /** @type {number[]} */
  const renderMs = [];
  /** @type {number[]} */
  const liveMs = [];
  /** @type {import('playwright-core').Page | undefined} */
  let page;
  for (let i = 0; i < LOADS + 1; i++) {
    await page?.close();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(url, { waitUntil: 'commit' });
    // The page marks (performance.mark) the frame after each ruleset is in the DOM, and the live
    // feed's first event: read those, not the time playwright takes to notice.
    const handle = await page.waitForFunction(renderedAt, FLAGS, { polling: 50, timeout: 60_000 });
    const [ms, liveAt] = /** @type {[number, number]} */ (await handle.jsonValue());
    if (i > 0) {
      // the first load warms the server (JIT, connections)
      renderMs.push(ms);
      liveMs.push(liveAt);
    }
    log(
      `load ${i}: shown at ${ms.toFixed(0)} ms, live at ${liveAt.toFixed(0)} ms${i === 0 ? ' (warm-up, not counted)' : ''}`,
    );
  }
  if (page === undefined) throw new Error('no page was opened');

  /** @type {number[]} */
  const updateMs = [];
  for (let i = 0; i < CHANGES; i++) {
    const index = (i * 37) % FLAGS;
    const value = Math.round(((i % 2 === 0 ? 12.3 : 45.6) + i / 10) * 10) / 10;
    const flag = flags[index];
    if (flag === undefined) throw new Error(`no flag at ${index}`);
    flags[index] = { ...flag, rollout_percentage: value, updated_at: new Date().toISOString() };
    const started = Date.now();
    const ack = await js.publish('apps.1.update.manual', JSON.stringify(flags));
    const handle = await page.waitForFunction(
      shownAt,
      { sequence: ack.seq, title: flag.title, value: String(value) },
      { polling: 20, timeout: 10_000 },
    );
    updateMs.push(/** @type {number} */ (await handle.jsonValue()) - started);
    log(`change ${i}: ${updateMs[updateMs.length - 1]} ms`);
  }
  report({
    flags: FLAGS,
    payloadBytes: Buffer.byteLength(payload),
    loads: LOADS,
    changes: CHANGES,
    firstRenderMs: summarize(renderMs),
    liveReadyMs: summarize(liveMs),
    liveUpdateMs: summarize(updateMs),
  });
} finally {
  await browser?.close();
  await dashboard?.close();
  await nc?.close();
  await Promise.all([nats.stop(), redis.stop()]);
}
