// Jest globalSetup: builds dist/ once, before any test file runs, if it is missing or older than
// src/. Tests that run the built CLI or pack the package then share one build; none rebuilds
// (and so deletes) dist/ while another worker uses it.
const { execFileSync } = require('node:child_process');
const { existsSync, readdirSync, statSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '../..');

/** @param {string} dir */
function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** Newest source of the build: the library (src/), the dashboard's page (web/) and the build itself. */
function newestSource() {
  const dirs = ['src', 'web', 'scripts']
    .filter((d) => existsSync(join(root, d)))
    .map((d) => newestMtime(join(root, d)));
  const files = ['package.json', 'tsconfig.build.json'].filter((f) => existsSync(join(root, f)));
  return Math.max(...dirs, ...files.map((f) => statSync(join(root, f)).mtimeMs));
}

module.exports = async function buildOnce() {
  const marker = join(root, 'dist/cjs/index.js');
  const cli = join(root, 'dist/cjs/cli/main.js');
  if (existsSync(marker) && existsSync(cli) && statSync(marker).mtimeMs >= newestSource()) return;
  execFileSync(process.execPath, [join(root, 'scripts/build.mjs')], { cwd: root, stdio: 'inherit' });
};
