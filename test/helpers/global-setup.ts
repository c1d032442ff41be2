import { startRedis, type ManagedServer } from './servers.js';

/**
 * Starts one private Redis for the whole run (unless VIGIL_TEST_REDIS_URL names one) and hands its URL
 * to every test file through the environment. Tests isolate themselves with a unique key prefix.
 */
let redis: ManagedServer | undefined;

export async function setup(): Promise<void> {
  if (!process.env.VIGIL_TEST_REDIS_URL) {
    redis = await startRedis();
    process.env.VIGIL_TEST_REDIS_URL = redis.url;
  }
}

export async function teardown(): Promise<void> {
  await redis?.stop();
}
