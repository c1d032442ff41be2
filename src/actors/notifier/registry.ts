import type { VigilConfig } from '../../config/load.js';
import type { ReceiverConfig } from '../../config/schema.js';
import type { Logger } from '../../observability/logger.js';
import type { Store } from '../../store/store.js';
import { createEmailNotifier } from './email/email.js';
import { createJiraNotifier } from './jira/jira.js';
import { createLogNotifier } from './log/log.js';
import type { Integration } from './notify.js';
import { createPagerDutyNotifier } from './pagerduty/pagerduty.js';
import { createSlackNotifier } from './slack/slack.js';
import { createWebhookNotifier } from './webhook/webhook.js';

export interface ChannelDeps {
  externalURL: string;
  baseDir: string;
  logger: Logger;
  /** For channels that remember what they created (Jira issue keys). */
  store?: Store;
}

type ReceiverKind = ReceiverConfig['kind'];
type ChannelFactory<K extends ReceiverKind> = (receiver: Extract<ReceiverConfig, { kind: K }>, deps: ChannelDeps) => Pick<Integration, 'target' | 'notifier'>;

/** The one place that maps receiver config to channels: a new channel is a folder plus a line here. */
const CHANNELS: { [K in ReceiverKind]: ChannelFactory<K> } = {
  webhook: createWebhookNotifier,
  log: createLogNotifier,
  slack: createSlackNotifier,
  email: createEmailNotifier,
  pagerduty: createPagerDutyNotifier,
  jira: createJiraNotifier,
};

export function externalURL(config: VigilConfig): string {
  return config.server.external_url ?? `http://${config.server.host}:${config.server.port}`;
}

/**
 * Builds every configured receiver. One that cannot be built (bad URL, unreadable secret) fails its own
 * deliveries permanently, so they show up dead with the reason, instead of taking the others down.
 */
export function buildIntegrations(config: VigilConfig, logger: Logger, store?: Store): Map<string, Integration> {
  const deps: ChannelDeps = { externalURL: externalURL(config), baseDir: config.baseDir, logger, ...(store ? { store } : {}) };
  const integrations = new Map<string, Integration>();
  for (const receiver of config.notifier.receivers) {
    const create = CHANNELS[receiver.kind] as ChannelFactory<typeof receiver.kind>;
    let channel: Pick<Integration, 'target' | 'notifier'>;
    try {
      channel = create(receiver, deps);
    } catch (err) {
      const error = `receiver "${receiver.name}" is misconfigured: ${(err as Error).message}`;
      logger.error({ receiver: receiver.name }, error);
      channel = { target: '', notifier: { send: async () => ({ ok: false, retryable: false, error }) } };
    }
    integrations.set(receiver.name, { name: receiver.name, channel: receiver.kind, sendResolved: receiver.send_resolved, ...channel });
  }
  return integrations;
}
