// CommonJS, plain JavaScript.
const { FlagManager } = require('tailslide');

async function main() {
  const manager = new FlagManager({
    natsServer: process.env.TAILSLIDE_NATS_SERVER ?? 'nats://127.0.0.1:4222',
    appId: 1,
    redisUrl: process.env.TAILSLIDE_REDIS_URL ?? 'redis://127.0.0.1:6379',
  });
  await manager.initialize();

  const checkout = manager.newToggler({ flagName: 'checkout-v2' });
  console.log(`checkout-v2 is ${checkout.isFlagActive('user-42') ? 'on' : 'off'} for user-42`);

  await manager.disconnect();
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
