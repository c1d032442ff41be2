import type { ActorFactory } from '../actors/actor.js';
import { createAlertManagerWithNoiseControl } from '../actors/alert-manager/noise-control.js';
import { createAnomalyDetector } from '../actors/anomaly-detector/anomaly-detector.js';
import { createAutomation } from '../actors/automation/automation.js';
import { createCollector } from '../actors/collector/collector.js';
import { createNotifier } from '../actors/notifier/notifier.js';
import { createPredictiveAnalyzer } from '../actors/predictive-analyzer/predictive-analyzer.js';
import type { InboxName } from '../bus/messages.js';

/** Actors this version can run; an inbox whose actor is missing here receives no messages (see ROUTES). */
export const ACTOR_FACTORIES: Partial<Record<InboxName, ActorFactory>> = {
  collector: createCollector,
  'anomaly-detector': createAnomalyDetector,
  'alert-manager': createAlertManagerWithNoiseControl,
  notifier: createNotifier,
  automation: createAutomation,
  'predictive-analyzer': createPredictiveAnalyzer,
};

export const AVAILABLE_ACTORS = Object.keys(ACTOR_FACTORIES) as InboxName[];
