// What the liveness audit costs the stream leader: STREAM.MSG.GET with next_by_subj, answered
// "no message found" (a current consumer), as fast as one nats-server answers them.
// Usage: node bench/audit-requests.mjs [--seconds 5] [--concurrency 200] [--server nats://127.0.0.1:4222]
import { connect } from 'nats';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '200' },
    server: { type: 'string', default: 'nats://127.0.0.1:4222' },
  },
});
const seconds = Number(values.seconds);
const concurrency = Number(values.concurrency);
const nc = await connect({ servers: values.server });
const jsm = await nc.jetstreamManager();
const stream = `bench_audit_${process.pid}`;
await jsm.streams.add({ name: stream, subjects: [`bench.${process.pid}.apps.*.update.*`] });
const js = nc.jetstream();
for (let app = 1; app <= 100; app += 1) await js.publish(`bench.${process.pid}.apps.${app}.update.manual`, '[]');
const info = await jsm.streams.info(stream);
const from = info.state.last_seq + 1;

let done = 0;
let found = 0;
const until = Date.now() + seconds * 1_000;
/** @param {number} w */
async function worker(w) {
  while (Date.now() < until) {
    const request = { seq: from, next_by_subj: `bench.${process.pid}.apps.${(w % 100) + 1}.update.*` };
    try {
      await jsm.streams.getMessage(stream, request);
      found += 1;
    } catch {
      // "no message found": the answer a current consumer's audit gets.
    }
    done += 1;
  }
}
const started = Date.now();
await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
const elapsed = (Date.now() - started) / 1_000;
await jsm.streams.delete(stream);
await nc.close();
const rate = done / elapsed;
console.log(
  `${done} audits in ${elapsed.toFixed(1)} s: ${Math.round(rate)} per second from one client ` +
    `(${found} found a message); at 0.5 per instance per second that is ${Math.round(rate * 2)} instances`,
);
