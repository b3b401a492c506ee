// A proposed change to src/flag-store.ts (measured here, not applied).
//
// On every ruleset after the first, FlagStore.replace() finds the changed flags by fingerprinting
// each new flag as JSON.stringify(toWire(flag)) (a 19-field object built and serialized per flag,
// per message) and comparing with the cached fingerprint of the old one. Profiling the update path
// (100-flag ruleset) puts `fingerprint` first, ahead of JSON parsing and validation. Comparing the
// validated fields directly finds the same changes with no allocation.
//   node bench/alt/flag-store-diff.mjs [--flags 100]
import { args, loadInternal, loadTailslide, summarize, wireRuleset } from '../lib/common.mjs';

const opts = args();
const FLAGS = Number(opts.flags ?? 100);
const ROUNDS = Number(opts.rounds ?? 2_000);

const { parseRuleset } = loadTailslide();
const { FlagStore } = loadInternal('flag-store.js');
const { compileFlag } = loadInternal('evaluation/evaluator.js');

/** Whether two validated flags are the same in every wire field (what the fingerprint compares). */
export function sameFlag(a, b) {
  if (
    a.id !== b.id ||
    a.appId !== b.appId ||
    a.title !== b.title ||
    a.description !== b.description ||
    a.isActive !== b.isActive ||
    a.rolloutPercentage !== b.rolloutPercentage ||
    a.errorThresholdPercentage !== b.errorThresholdPercentage ||
    a.circuitStatus !== b.circuitStatus ||
    a.isRecoverable !== b.isRecoverable ||
    a.circuitRecoveryPercentage !== b.circuitRecoveryPercentage ||
    a.circuitRecoveryDelay !== b.circuitRecoveryDelay ||
    a.circuitInitialRecoveryPercentage !== b.circuitInitialRecoveryPercentage ||
    a.circuitRecoveryRate !== b.circuitRecoveryRate ||
    a.circuitRecoveryIncrementPercentage !== b.circuitRecoveryIncrementPercentage ||
    a.circuitRecoveryProfile !== b.circuitRecoveryProfile ||
    a.webhooks !== b.webhooks ||
    a.createdAt !== b.createdAt ||
    a.updatedAt !== b.updatedAt
  ) {
    return false;
  }
  const wa = a.whiteListedUsers;
  const wb = b.whiteListedUsers;
  if (wa.length !== wb.length) return false;
  for (let i = 0; i < wa.length; i++) if (wa[i] !== wb[i]) return false;
  // unknown extra fields are rare and arbitrary JSON: compare them as the fingerprint does
  const ka = Object.keys(a.extra);
  const kb = Object.keys(b.extra);
  if (ka.length === 0 && kb.length === 0) return true;
  return JSON.stringify(a.extra) === JSON.stringify(b.extra);
}

/** FlagStore.replace with sameFlag instead of fingerprints (same result, same order). */
class FieldDiffStore {
  byTitle = new Map();
  loaded = false;
  replace(flags) {
    const previous = this.byTitle;
    const next = new Map();
    for (const flag of flags) next.set(flag.title, compileFlag(flag));
    const changed = [];
    if (!this.loaded) changed.push(...next.keys());
    else {
      for (const [title, compiled] of next) {
        const before = previous.get(title);
        if (!before || !sameFlag(before.flag, compiled.flag)) changed.push(title);
      }
      for (const title of previous.keys()) if (!next.has(title)) changed.push(title);
    }
    this.byTitle = next;
    this.ruleset = Object.freeze([...flags]);
    this.loaded = true;
    return changed;
  }
}

// a sequence of rulesets, each changing one flag, parsed up front (parsing is not what is compared)
const wire = wireRuleset(FLAGS);
const parsed = [];
for (let i = 0; i < ROUNDS; i++) {
  const f = wire[i % FLAGS];
  f.rollout_percentage = Math.round(((f.rollout_percentage + 0.7) % 100) * 10) / 10;
  const r = parseRuleset(JSON.parse(JSON.stringify(wire)), 'bench', { appId: 1 });
  if (!r.ok) throw r.error;
  parsed.push(r.flags);
}

function time(store) {
  store.replace(parsed[0]);
  const ms = [];
  const changes = [];
  for (let i = 1; i < ROUNDS; i++) {
    const t0 = process.hrtime.bigint();
    const changed = store.replace(parsed[i]);
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
    changes.push(changed.join(','));
  }
  return { s: summarize(ms), changes };
}

// alternate a few times so both see the same machine state
const results = { fingerprint: [], fields: [] };
let reference;
for (let r = 0; r < 3; r++) {
  const a = time(new FlagStore());
  const b = time(new FieldDiffStore());
  if (reference === undefined) reference = a.changes;
  if (a.changes.join('|') !== b.changes.join('|') || a.changes.join('|') !== reference.join('|')) throw new Error('the two diffs disagree');
  results.fingerprint.push(a.s);
  results.fields.push(b.s);
}
const med = (xs, k) => xs.map((x) => x[k]).sort((x, y) => x - y)[1];
console.log(`FlagStore.replace of a ${FLAGS}-flag ruleset with one change (${ROUNDS - 1} replaces, median of 3 runs; same changed lists):`);
for (const [name, xs] of Object.entries(results)) {
  console.log(`  ${name.padEnd(12)} p50 ${med(xs, 'p50').toFixed(3)} ms  p99 ${med(xs, 'p99').toFixed(3)} ms  mean ${med(xs, 'mean').toFixed(3)} ms`);
}
