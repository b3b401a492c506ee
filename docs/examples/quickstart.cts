// CommonJS, TypeScript (a .cts file, or .ts in a package without "type": "module"), "module": "nodenext".
import tailslide = require('tailslide');

async function main(): Promise<void> {
  const manager = new tailslide.FlagManager({
    natsServer: process.env.TAILSLIDE_NATS_SERVER ?? 'nats://127.0.0.1:4222',
    appId: 1,
    redisUrl: process.env.TAILSLIDE_REDIS_URL ?? 'redis://127.0.0.1:6379',
  });
  await manager.initialize();

  const checkout = manager.newToggler({ flagName: 'checkout-v2' });
  const userId = 'user-42';
  console.log(`checkout-v2 is ${checkout.isFlagActive(userId) ? 'on' : 'off'} for ${userId}`);
  console.log(`why: ${checkout.evaluate(userId).reason}`);

  await manager.disconnect();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
