import { randomUUID } from 'node:crypto';

/** The Redis that global-setup started (or that VIGIL_TEST_REDIS_URL names). */
export function testRedisUrl(): string {
  const url = process.env.VIGIL_TEST_REDIS_URL;
  if (!url) throw new Error('VIGIL_TEST_REDIS_URL is not set: run tests through vitest so global-setup starts Redis');
  return url;
}

/** A unique prefix per test, so tests sharing one Redis never see each other's keys. */
export function uniquePrefix(name = 'test'): string {
  return `${name}-${randomUUID().slice(0, 8)}`;
}
