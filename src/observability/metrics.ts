import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Vigil's own Prometheus metrics. One instance per daemon (tests make their own), passed to the
 * components that record into it.
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'vigil_process_' });
  return {
    registry,
    samplesIngested: new Counter({ name: 'vigil_samples_ingested_total', help: 'Samples accepted, by source.', labelNames: ['source'], registers: [registry] }),
    samplesRejected: new Counter({ name: 'vigil_samples_rejected_total', help: 'Samples rejected, by source and reason.', labelNames: ['source', 'reason'], registers: [registry] }),
    sourceErrors: new Counter({ name: 'vigil_source_errors_total', help: 'Failed collections (bad responses, unreachable sources), by source and reason.', labelNames: ['source', 'reason'], registers: [registry] }),
    messagesHandled: new Counter({ name: 'vigil_messages_handled_total', help: 'Messages handled by an actor, by outcome.', labelNames: ['actor', 'type', 'outcome'], registers: [registry] }),
    handlerSeconds: new Histogram({
      name: 'vigil_message_handling_seconds', help: 'Time an actor spends handling one message.', labelNames: ['actor', 'type'], registers: [registry],
      buckets: [0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    }),
    queueDepth: new Gauge({ name: 'vigil_queue_depth', help: 'Messages waiting in an actor inbox.', labelNames: ['actor'], registers: [registry] }),
    apiErrors: new Counter({ name: 'vigil_api_rejected_requests_total', help: 'API requests rejected, by reason.', labelNames: ['reason'], registers: [registry] }),
    ruleEvaluations: new Counter({ name: 'vigil_rule_evaluations_total', help: 'Rule evaluations.', labelNames: ['rule'], registers: [registry] }),
    alertsActive: new Gauge({ name: 'vigil_alerts', help: 'Alerts by state.', labelNames: ['state'], registers: [registry] }),
    notifications: new Counter({ name: 'vigil_notifications_total', help: 'Notification attempts, by receiver and outcome.', labelNames: ['receiver', 'outcome'], registers: [registry] }),
    circuitOpen: new Gauge({ name: 'vigil_notifier_circuit_open', help: "1 while a receiver's circuit breaker holds sends back (open or half-open), 0 when closed.", labelNames: ['receiver'], registers: [registry] }),
    notificationsDeferred: new Counter({ name: 'vigil_notifier_deferred_total', help: 'Sends put off without spending an attempt, by receiver and reason (circuit_open, rate_limited).', labelNames: ['receiver', 'reason'], registers: [registry] }),
    anomalySeries: new Gauge({ name: 'vigil_anomaly_series_watched', help: 'Series (and multivariate resources) the anomaly detector holds a model for in this process.', registers: [registry] }),
    anomalyPoints: new Counter({ name: 'vigil_anomaly_points_scored_total', help: 'Points scored by the anomaly detector.', registers: [registry] }),
    anomalyBadPoints: new Counter({ name: 'vigil_anomaly_points_skipped_total', help: 'Points the anomaly detector skipped, by reason (malformed, not_finite, out_of_order, detector_error, series_limit).', labelNames: ['reason'], registers: [registry] }),
    anomalyEvents: new Counter({ name: 'vigil_anomaly_events_total', help: 'Anomaly events emitted, by state and severity.', labelNames: ['state', 'severity'], registers: [registry] }),
    anomalyRetrains: new Counter({ name: 'vigil_anomaly_retrains_total', help: 'Model retrainings, by reason (schedule, drift, request) and outcome.', labelNames: ['reason', 'outcome'], registers: [registry] }),
    anomalyModelBytes: new Gauge({ name: 'vigil_anomaly_model_bytes', help: 'Estimated memory of the models held: their serialized size at the last save.', registers: [registry] }),
    incidentsChanged: new Counter({ name: 'vigil_incident_changes_total', help: 'Incident correlation outcomes: opened, joined, updated, failed.', labelNames: ['outcome'], registers: [registry] }),
    configReloadSuccess: new Gauge({ name: 'vigil_config_last_reload_successful', help: '1 if the last config reload succeeded.', registers: [registry] }),
    configReloadTime: new Gauge({ name: 'vigil_config_last_reload_success_timestamp_seconds', help: 'Time of the last successful config reload.', registers: [registry] }),
    runbookRuns: new Counter({ name: 'vigil_runbook_runs_total', help: 'Runbook executions by final state (succeeded, blocked, rolled_back, ...).', labelNames: ['runbook', 'state'], registers: [registry] }),
    runbookSteps: new Counter({ name: 'vigil_runbook_steps_total', help: 'Runbook steps by action kind and outcome (ok, failed, dry_run, skipped).', labelNames: ['kind', 'outcome'], registers: [registry] }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
