// Checks bench/alt/murmur-prefixed.mjs against the spec's golden vectors (shared/spec/rollout.md)
// and against the shipped murmur3 on random ASCII and non-ASCII input. Exits 1 on any mismatch.
//   node bench/alt/verify.mjs
import { loadTailslide, prng } from '../lib/common.mjs';
import { murmur3Prefixed, prefixState } from './murmur-prefixed.mjs';

const { murmur3 } = loadTailslide();

const golden = [
  ['App 1 Flag 1', '375d39e6-9c3f-4f58-80bd-e5960b710295', 516206059],
  ['App 1 Flag 1', 'fbe6133c-f751-46f4-b275-4e8c3aa22e24', 1582783807],
  ['App 1 Flag 1', 'dfcc8acc-8b99-42f7-b63d-b7c51268f2c4', 678976385],
  ['App 1 Flag 1', 'user-1', 3412789273],
  ['App 1 Flag 1', 'ü-ñicode-用户', 1886322648],
  ['checkout-v2', '375d39e6-9c3f-4f58-80bd-e5960b710295', 1205202009],
  ['checkout-v2', 'dfcc8acc-8b99-42f7-b63d-b7c51268f2c4', 93069394],
  ['checkout-v2', 'ü-ñicode-用户', 1746631911],
];
let failures = 0;
for (const [title, user, h] of golden) {
  const got = murmur3Prefixed(prefixState(`${title}:`), user);
  if (got !== h) {
    failures++;
    console.error(`golden ${title} / ${user}: got ${got}, want ${h}`);
  }
}

const rand = prng(99);
const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789-_:ABCüñ用户😀é';
const randomString = (maxLen, ascii) => {
  const n = Math.floor(rand() * maxLen);
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(rand() * (ascii ? 39 : alphabet.length))] ?? 'x';
  return s;
};
let checked = 0;
for (let t = 0; t < 2_000; t++) {
  const prefix = `${randomString(20, rand() < 0.9)}:`;
  const state = prefixState(prefix);
  for (let u = 0; u < 50; u++) {
    const user = randomString(45, rand() < 0.8);
    const want = murmur3(prefix + user);
    const got = murmur3Prefixed(state, user);
    checked++;
    if (got !== want && failures++ < 10) console.error(`random ${JSON.stringify(prefix)} + ${JSON.stringify(user)}: got ${got}, want ${want}`);
  }
}
console.log(`${golden.length} golden vectors and ${checked} random pairs: ${failures === 0 ? 'all equal' : `${failures} MISMATCHES`}`);
process.exit(failures === 0 ? 0 : 1);
