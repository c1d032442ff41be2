import { Writable } from 'node:stream';
import type { AlertPayload } from '../../src/bus/messages.js';
import type { Notification } from '../../src/actors/notifier/notify.js';
import { createLogger, type Logger } from '../../src/observability/logger.js';

/** Shared by the notifier-channels-*.test.ts files: one firing alert and its group. */
export const firingAlert: AlertPayload = {
  fingerprint: 'c0ffee0123456789',
  status: 'firing',
  labels: { alertname: 'HighCPU', instance: 'db-1', severity: 'critical' },
  annotations: { summary: 'CPU above 90%', description: 'db-1 has been busy for 10 minutes' },
  startsAt: '2024-05-01T10:00:00.000Z',
  endsAt: '0001-01-01T00:00:00Z',
  generatorURL: 'http://prometheus.example/graph?g0.expr=cpu',
  value: 97.5,
};

export const resolvedAlert: AlertPayload = { ...firingAlert, status: 'resolved', endsAt: '2024-05-01T10:30:00.000Z' };

export const firing: Notification = {
  receiver: 'ops',
  rule: 'HighCPU',
  groupKey: '{}/{severity="critical"}:{alertname="HighCPU"}',
  groupLabels: { alertname: 'HighCPU' },
  raisedAt: 1_714_557_600_000,
  alerts: [firingAlert],
};

export const acknowledged: Notification = { ...firing, acknowledged: { by: 'alice', at: Date.UTC(2024, 4, 1, 10, 5) } };
export const resolved: Notification = { ...firing, alerts: [resolvedAlert] };

export const ctx = { deliveryId: 'dlv-1234', now: 1_714_557_601_500 };
export const EXTERNAL_URL = 'http://vigil.example';

/** A real pino logger at trace level whose lines are kept, to check that no secret is ever written. */
export function capturedLogger(): { logger: Logger; output: () => string } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  return { logger: createLogger('trace', { destination, pretty: false }), output: () => lines.join('') };
}
