// How the bench (ui.mjs) and scripts/screenshot.mjs launch Debian's chromium through playwright-core (the
// tests do the same in test/support/browser.ts). TAILSLIDE_CHROMIUM overrides /usr/bin/chromium.
// Without the background-networking flags chromium tries, and fails, to reach Google's hosts.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** The options of `chromium.launch()`. */
export const CHROMIUM_LAUNCH = {
  executablePath: process.env.TAILSLIDE_CHROMIUM ?? '/usr/bin/chromium',
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
};

/** Launches headless chromium. */
export function launchChromium() {
  /** @type {typeof import('playwright-core')} */
  const { chromium } = require('playwright-core');
  return chromium.launch(CHROMIUM_LAUNCH);
}
