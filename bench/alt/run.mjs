// Measures the proposed changes in bench/alt against the shipped code and prints one table:
//   npm run build && node bench/alt/run.mjs
// Each variant runs in its own process; every variant is checked to decide exactly as the shipped
// code on every user before it is timed (eval-alt.mjs), and the prefixed hash is checked against
// the spec's golden vectors first (verify.mjs).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { BENCH_DIR, ROOT, machineLine } from '../lib/common.mjs';

function node(script, scriptArgs, nodeFlags = []) {
  const r = spawnSync(process.execPath, ['--expose-gc', ...nodeFlags, join(BENCH_DIR, script), ...scriptArgs], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 300_000,
  });
  if (r.status !== 0) throw new Error(`${script} ${scriptArgs.join(' ')} failed:\n${r.stdout}`);
  return r.stdout;
}
const result = (stdout) =>
  stdout
    .split('\n')
    .filter((l) => l.startsWith('@@RESULT '))
    .map((l) => JSON.parse(l.slice(9)))[0];

process.stderr.write(node('alt/verify.mjs', []));
const rows = [];
for (const c of ['rollout', 'rollout-wl-miss', 'whitelist']) {
  for (const impl of ['shipped', 'prefixed', 'prefixed-flatwl']) {
    const runs = [0, 1, 2].map(() => result(node('alt/eval-alt.mjs', ['--impl', impl, '--case', c])));
    const alloc = c === 'rollout' ? result(node('alt/eval-alt.mjs', ['--impl', impl, '--case', c, '--alloc'], ['--max-semi-space-size=64'])) : undefined;
    const p50 = runs.map((r) => r.nsPerCall.p50).sort((a, b) => a - b)[1];
    const p99 = runs.map((r) => r.nsPerCall.p99).sort((a, b) => a - b)[1];
    rows.push(`| ${c} | ${impl} | ${p50.toFixed(0)} ns | ${p99.toFixed(0)} ns | ${alloc ? `${Math.max(0, alloc.bytesPerCall).toFixed(1)} B` : ''} |`);
  }
}
console.log(`\n${machineLine()}\n`);
console.log('| case | implementation | p50 per call | p99 per call | bytes/op |');
console.log('|---|---|---|---|---|');
console.log(rows.join('\n'));
console.log('\n(median of 3 processes each)\n');
console.log(node('alt/memory-per-flag.mjs', []).trim());
for (const flags of ['100', '10000']) {
  console.log(node('alt/flag-store-diff.mjs', ['--flags', flags, ...(flags === '10000' ? ['--rounds', '40'] : [])]).trim());
}
