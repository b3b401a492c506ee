// ES modules (`"type": "module"`, or a .mts file), TypeScript with "module": "nodenext".
import { FlagManager } from 'tailslide';

const manager = new FlagManager({
  natsServer: process.env.TAILSLIDE_NATS_SERVER ?? 'nats://127.0.0.1:4222',
  appId: 1,
  redisUrl: process.env.TAILSLIDE_REDIS_URL ?? 'redis://127.0.0.1:6379', // success/failure signals
});
await manager.initialize(); // resolves once the app's ruleset is in, or after initTimeoutMs (flags off until then)

const checkout = manager.newToggler({ flagName: 'checkout-v2' }); // create once, reuse
const userId = 'user-42';

if (checkout.isFlagActive(userId)) {
  try {
    console.log(`new checkout for ${userId}`); // the code path behind the flag
    checkout.emitSuccess();
  } catch (err) {
    checkout.emitFailure();
    throw err;
  }
} else {
  console.log(`old checkout for ${userId}`);
}
console.log(`why: ${checkout.evaluate(userId).reason}`); // FULL_ROLLOUT, ROLLOUT_IN, WHITELISTED, FLAG_OFF, …

await manager.disconnect(); // flushes pending signals to Redis, closes the connections
