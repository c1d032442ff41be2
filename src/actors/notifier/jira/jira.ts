import type { ReceiverConfig } from '../../../config/schema.js';
import type { Integration } from '../notify.js';

type JiraReceiver = Extract<ReceiverConfig, { kind: 'jira' }>;

/** Placeholder until the channel lands. */
export function createJiraNotifier(receiver: JiraReceiver): Pick<Integration, 'target' | 'notifier'> {
  return { target: 'jira', notifier: { send: async () => ({ ok: false, retryable: false, error: `${receiver.kind} is not implemented yet` }) } };
}
