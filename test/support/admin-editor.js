// A separate OS process that edits one flag concurrently with others, for the admin concurrency
// test. It loads the admin library compiled by the test (argv[2]); run with NODE_PATH pointing at
// the repository's node_modules.
// Usage: node admin-editor.js <compiled src/admin/index.js> <natsUrl> <stream> <appId> <flagTitle> <userPrefix> <count>
'use strict';
const [, , adminPath, url, stream, appId, title, prefix, count] = process.argv;
if (adminPath === undefined || title === undefined || url === undefined || stream === undefined)
  throw new Error('usage: see the head of admin-editor.js');
/** @type {typeof import('../../src/admin')} */
const { FlagAdmin } = require(adminPath);

const silent = { debug() {}, info() {}, warn() {}, error() {} };

// an arrow function, not a hoisted declaration, so the checks above narrow the arguments inside
const main = async () => {
  const admin = new FlagAdmin({ nats: { servers: url, stream }, maxAttempts: 500, logger: silent });
  await admin.connect();
  let attempts = 0;
  try {
    await Promise.all(
      Array.from({ length: Number(count) }, async (_, i) => {
        const outcome = await admin.addWhitelistedUsers(Number(appId), title, `${prefix}${i}`);
        attempts += outcome.attempts;
      }),
    );
  } finally {
    await admin.close();
  }
  process.stdout.write(`${JSON.stringify({ attempts })}\n`);
};

main().catch((err) => {
  process.stderr.write(`${err && err.stack ? err.stack : String(err)}\n`);
  process.exit(1);
});
