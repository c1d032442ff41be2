import type { ReceiverConfig } from '../../../config/schema.js';
import type { Integration } from '../notify.js';

type EmailReceiver = Extract<ReceiverConfig, { kind: 'email' }>;

/** Placeholder until the channel lands. */
export function createEmailNotifier(receiver: EmailReceiver): Pick<Integration, 'target' | 'notifier'> {
  return { target: 'email', notifier: { send: async () => ({ ok: false, retryable: false, error: `${receiver.kind} is not implemented yet` }) } };
}
