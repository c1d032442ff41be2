import type { InboxName } from '../bus/messages.js';
import type { VigilConfig } from '../config/load.js';
import type { RunbookTriggerConfig } from '../config/schema.js';

const watchesMetrics = (trigger: RunbookTriggerConfig): boolean =>
  trigger.kind === 'metric' || ((trigger.kind === 'all' || trigger.kind === 'any') && trigger.triggers.some(watchesMetrics));

/**
 * The inboxes whose actors have something to do with `samples` under this config. Samples are the
 * bulk of the traffic: sending every batch to an actor that only drops it costs a queue write per
 * inbox, so the bus leaves out those that have nothing to watch.
 */
export function sampleSubscribers(config: VigilConfig): ReadonlySet<InboxName> {
  const inboxes = new Set<InboxName>(['alert-manager']);
  if (config.anomaly.enabled) inboxes.add('anomaly-detector');
  if (config.rules.some((rule) => rule.kind === 'predict') || config.forecast.risks.length > 0) inboxes.add('predictive-analyzer');
  if (config.runbooks.some((runbook) => watchesMetrics(runbook.trigger))) inboxes.add('automation');
  return inboxes;
}
