import type { VigilConfig } from '../../config/load.js';
import { DETECTOR_NAMES } from '../../models/anomaly/detector.js';
import { detectorPartitions } from './partition-key.js';

/** What the schema cannot say about `anomaly`: a known detector, ordered bands, groups that fit the partitioning. */
export function anomalyProblems(config: VigilConfig): { path: (string | number)[]; message: string }[] {
  const problems: { path: (string | number)[]; message: string }[] = [];
  const a = config.anomaly;
  if (!(DETECTOR_NAMES as readonly string[]).includes(a.detector)) {
    problems.push({ path: ['anomaly', 'detector'], message: `unknown detector "${a.detector}" (known: ${DETECTOR_NAMES.join(', ')})` });
  }
  if (a.severity.warning > a.severity.critical) {
    problems.push({ path: ['anomaly', 'severity', 'warning'], message: `warning (${a.severity.warning}) must not be above critical (${a.severity.critical})` });
  }
  const names = new Set<string>();
  a.multivariate.forEach((g, i) => {
    if (names.has(g.name)) problems.push({ path: ['anomaly', 'multivariate', i, 'name'], message: `duplicate group name "${g.name}"` });
    names.add(g.name);
  });
  // Samples are partitioned by series, so one resource's members could land in different processes.
  if (a.multivariate.length > 0 && detectorPartitions(config.transport.partitions) > 1) {
    problems.push({ path: ['anomaly', 'multivariate'], message: 'multivariate groups need transport.partitions.anomaly-detector to be 1 (a resource\'s series must be scored in one process)' });
  }
  return problems;
}
