// docs/dashboard.png: the dashboard of a small shop app, shot in headless chromium.
//   npm run build && node scripts/screenshot.mjs [--out docs/dashboard.png] [--page flag|app|apps]
//
// Starts its own nats-server and redis-server (free loopback ports, temp dirs), creates the app's
// flags with the admin library, writes 15 minutes of success/failure signals (a failure spike
// that opened a circuit), makes a few edits for the history, starts the dashboard (dist/cjs/ui)
// and saves a 1280×800 screenshot (TAILSLIDE_CHROMIUM overrides /usr/bin/chromium).
import { resolve } from 'node:path';
import { args, loadInternal, quietLogger, ROOT } from '../bench/lib/common.mjs';
import { launchChromium } from '../bench/lib/chromium.mjs';
import { NatsServer, RedisServer } from '../bench/lib/servers.mjs';

const opts = args();
const out = resolve(ROOT, typeof opts.out === 'string' ? opts.out : 'docs/dashboard.png');
const which = typeof opts.page === 'string' ? opts.page : 'flag';
const { FlagAdmin } = loadInternal('admin/index.js');
const { startDashboard } = loadInternal('ui/index.js');
const { resolveOptions } = loadInternal('options.js');
const { createSignalSink } = loadInternal('signals/index.js');

const [nats, redis] = await Promise.all([NatsServer.start(), RedisServer.start()]);
const admin = new FlagAdmin({ nats: { servers: nats.url }, logger: quietLogger });
let dashboard;
let browser;
try {
  await admin.connect();
  await admin.ensureStream();
  /** @type {(title: string, fields: Record<string, unknown>) => Promise<{ flag: { id: number } }>} */
  const create = (title, fields) => admin.createFlag(1, { title, ...fields });
  const checkout = await create('checkout-v2', {
    description: 'The one-page checkout',
    is_active: true,
    rollout_percentage: 20,
    white_listed_users: 'alice,bob',
    error_threshold_percentage: 25,
    is_recoverable: true,
  });
  await create('search-ranking', {
    description: 'Learning-to-rank results',
    is_active: true,
    rollout_percentage: 62.5,
  });
  await create('dark-mode', { description: 'Dark theme for the storefront', rollout_percentage: 100 });
  await create('new-pricing', {
    description: 'Regional prices',
    is_active: true,
    rollout_percentage: 10,
    circuit_status: 'open',
    error_threshold_percentage: 10,
  });
  await create('recommendations', { description: 'You may also like', is_active: true, rollout_percentage: 100 });
  await create('beta-banner', { rollout_percentage: 5 });
  await admin.setRollout(1, 'checkout-v2', 35);
  await admin.setCircuit(1, 'checkout-v2', { circuit_status: 'open' });
  await admin.setCircuit(1, 'checkout-v2', { circuit_status: 'recovery', circuit_recovery_percentage: 40 });

  // 15 minutes of signals: steady traffic, a failure spike 6–4 minutes ago.
  const resolved = resolveOptions({ appId: 1, natsServer: nats.url, redisUrl: redis.url, signalBackend: 'native' });
  const sink = createSignalSink(resolved.signals, quietLogger);
  await sink.start();
  const id = checkout.flag.id;
  const now = Date.now();
  for (let t = now - 15 * 60_000; t <= now; t += 2_000) {
    const minutesAgo = (now - t) / 60_000;
    const spike = minutesAgo < 6 && minutesAgo > 4;
    const ok = 14 + Math.round(6 * Math.sin(t / 90_000)) + Math.round(Math.random() * 3);
    const bad = spike ? 6 + Math.round(Math.random() * 4) : Math.random() < 0.3 ? 1 : 0;
    for (let i = 0; i < ok; i++) sink.record(id, 1, 'success', t);
    for (let i = 0; i < bad; i++) sink.record(id, 1, 'failure', t);
  }
  await sink.flush(20_000);
  await sink.close();

  dashboard = await startDashboard({
    nats: { servers: nats.url },
    signals: { redisUrl: redis.url },
    port: 0,
    logger: quietLogger,
  });
  browser = await launchChromium();
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  if (which === 'apps') {
    await page.goto(`${dashboard.url}#/`);
    await page.locator('li.app').first().waitFor();
  } else if (which === 'app') {
    await page.goto(`${dashboard.url}#/apps/1`);
    await page.locator('article.flag').nth(5).waitFor();
  } else {
    await page.goto(`${dashboard.url}#/apps/1/flags/${id}`);
    await page.locator('#totals[data-success]').waitFor();
    await page.locator('.history li').first().waitFor();
    await page.getByLabel('User context').fill('alice');
    await page.getByRole('button', { name: 'Evaluate' }).click();
    await page.locator('output.eval-result strong').waitFor();
  }
  await page.locator('#live[data-state="live"]').waitFor();
  await page.evaluate('document.activeElement?.blur(); window.scrollTo(0, 0)');
  await page.screenshot({ path: out });
  process.stdout.write(`wrote ${out}\n`);
} finally {
  await browser?.close();
  await dashboard?.close();
  await admin.close();
  await Promise.all([nats.stop(), redis.stop()]);
}
