// Heap retained per compiled flag: the shipped compileFlag against one that shares a single empty
// whitelist Set between the flags that have no whitelist (most flags) and flattens hashPrefix.
//   node --expose-gc bench/alt/memory-per-flag.mjs [--flags 10000]
import { args, fullGc, loadInternal, loadTailslide, wireRuleset } from '../lib/common.mjs';

const opts = args();
const FLAGS = Number(opts.flags ?? 10_000);
const { parseRuleset } = loadTailslide();
const { compileFlag } = loadInternal('evaluation/evaluator.js');

const EMPTY = new Set();
function compileShared(flag) {
  const c = compileFlag(flag);
  return {
    flag: c.flag,
    whitelist: flag.whiteListedUsers.length === 0 ? EMPTY : c.whitelist,
    effectiveRollout: c.effectiveRollout,
    threshold: c.threshold,
    // `${title}:` is a ConsString (32 B) until first hashed, then a ConsString plus a flat copy
    hashPrefix: Buffer.from(c.hashPrefix, 'utf8').toString('utf8'),
  };
}

const parsed = parseRuleset(wireRuleset(FLAGS), 'bench', { appId: 1 });
if (!parsed.ok) throw parsed.error;
const flags = parsed.flags;
const noWhitelist = flags.filter((f) => f.whiteListedUsers.length === 0).length;

function retained(compile) {
  fullGc();
  const before = process.memoryUsage().heapUsed;
  const compiled = flags.map(compile);
  fullGc();
  const after = process.memoryUsage().heapUsed;
  if (compiled.length !== flags.length) throw new Error('unreachable');
  return (after - before) / FLAGS;
}
const a = [];
const b = [];
for (let r = 0; r < 3; r++) {
  a.push(retained(compileFlag));
  b.push(retained(compileShared));
}
const med = (xs) => [...xs].sort((x, y) => x - y)[1];
console.log(`compiled flag on top of the parsed flag, ${FLAGS} flags (${noWhitelist} without whitelist), median of 3:`);
console.log(`  shipped compileFlag            ${med(a).toFixed(0)} B/flag`);
console.log(`  shared empty Set, flat prefix  ${med(b).toFixed(0)} B/flag`);
