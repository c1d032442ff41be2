/**
 * When a watched series (or resource) changes between anomalous and normal. Every point at or above the
 * threshold is an `anomalous` verdict; the first point after `settlePoints` quiet points in a row, or the
 * first check `settleAfterMs` after the last anomalous point, is the one `normal` verdict.
 */
export interface VerdictState {
  anomalous: boolean;
  /** Points below the threshold since the last anomalous one. */
  quiet: number;
  lastAnomalousAt: number;
}

export interface SettleRule {
  threshold: number;
  settlePoints: number;
  settleAfterMs: number;
}

export const initialVerdict = (): VerdictState => ({ anomalous: false, quiet: 0, lastAnomalousAt: 0 });

/** Updates `s` for a scored point; returns the verdict to publish, if any. */
export function judgePoint(s: VerdictState, t: number, score: number, rule: SettleRule): 'anomalous' | 'normal' | undefined {
  if (score >= rule.threshold) {
    s.anomalous = true;
    s.quiet = 0;
    s.lastAnomalousAt = t;
    return 'anomalous';
  }
  if (!s.anomalous) return undefined;
  s.quiet++;
  return s.quiet >= rule.settlePoints || t - s.lastAnomalousAt >= rule.settleAfterMs ? settle(s) : undefined;
}

/** A series that went silent while anomalous settles by time alone. */
export function judgeSilence(s: VerdictState, now: number, rule: SettleRule): 'normal' | undefined {
  return s.anomalous && now - s.lastAnomalousAt >= rule.settleAfterMs ? settle(s) : undefined;
}

function settle(s: VerdictState): 'normal' {
  s.anomalous = false;
  s.quiet = 0;
  return 'normal';
}
