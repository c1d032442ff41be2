import type { ReceiverConfig } from '../../../config/schema.js';
import type { Integration } from '../notify.js';

type PagerDutyReceiver = Extract<ReceiverConfig, { kind: 'pagerduty' }>;

/** Placeholder until the channel lands. */
export function createPagerDutyNotifier(receiver: PagerDutyReceiver): Pick<Integration, 'target' | 'notifier'> {
  return { target: 'pagerduty', notifier: { send: async () => ({ ok: false, retryable: false, error: `${receiver.kind} is not implemented yet` }) } };
}
