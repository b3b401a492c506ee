/** The Redis client the SDK accepts (`redisClient`): declared with the connection options. */
export { isRedisClient, type RedisClient, type RedisExecReply } from '../connection-options';
