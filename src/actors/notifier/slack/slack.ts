import type { ReceiverConfig } from '../../../config/schema.js';
import type { Integration } from '../notify.js';

type SlackReceiver = Extract<ReceiverConfig, { kind: 'slack' }>;

/** Placeholder until the channel lands. */
export function createSlackNotifier(receiver: SlackReceiver): Pick<Integration, 'target' | 'notifier'> {
  return { target: 'slack', notifier: { send: async () => ({ ok: false, retryable: false, error: `${receiver.kind} is not implemented yet` }) } };
}
