/**
 * `redis-time-series-ts` on the project's own ioredis 5 connection.
 *
 * The package's factory opens its own (ioredis 4) connection, so it is not used. Its
 * `RedisTimeSeries` class is built here from its parts around our client instead:
 * `CommandProvider` only calls `client.createBuiltinCommand(name).string`, which ioredis 5 still
 * has, and `CommandReceiver` calls that function on our client. No second connection is opened and
 * the package's bundled ioredis 4 is never loaded (only deep `lib/` modules are imported).
 */
import type { Redis } from 'ioredis';
import { RequestParamsBuilder } from 'redis-time-series-ts/lib/builder/requestParamsBuilder';
import { RequestParamsDirector } from 'redis-time-series-ts/lib/builder/requestParamsDirector';
import { CommandInvoker } from 'redis-time-series-ts/lib/command/commandInvoker';
import { CommandProvider } from 'redis-time-series-ts/lib/command/commandProvider';
import { CommandReceiver } from 'redis-time-series-ts/lib/command/commandReceiver';
import { RenderFactory } from 'redis-time-series-ts/lib/factory/render';
import { RedisTimeSeries } from 'redis-time-series-ts/lib/redisTimeSeries';

export function timeSeriesClient(client: Redis): RedisTimeSeries {
  const provider = new CommandProvider(client);
  return new RedisTimeSeries(
    provider,
    new CommandReceiver(provider.getRTSClient()),
    new CommandInvoker(),
    new RequestParamsDirector(new RequestParamsBuilder()),
    new RenderFactory(),
  );
}
