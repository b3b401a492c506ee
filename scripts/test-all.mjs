// `npm test`: the main suite, then the cluster failover suites on their own (they start 3-node
// clusters and run in band). Both always run: a failure in the first must not silently skip the
// second. The exit code is non-zero when either failed, and the last line says which.
import { spawnSync } from 'node:child_process';

const jest = ['node_modules/jest/bin/jest.js'];
const runs = [
  { name: 'main suite', args: [...jest, '--testPathIgnorePatterns', '/test/integration/[a-z]+-cluster\\.test\\.ts$'] },
  {
    name: 'cluster suites',
    args: [
      ...jest,
      '--runInBand',
      'test/integration/nats-cluster',
      'test/integration/redis-cluster',
      'test/integration/breaker-cluster',
    ],
  },
];

const failed = [];
for (const run of runs) {
  const { status, signal } = spawnSync(process.execPath, run.args, { stdio: 'inherit' });
  if (status !== 0) failed.push(`${run.name} (${signal ?? `exit ${status}`})`);
}
process.stdout.write(
  failed.length === 0 ? 'npm test: every suite passed\n' : `npm test: FAILED: ${failed.join(', ')}\n`,
);
process.exit(failed.length === 0 ? 0 : 1);
