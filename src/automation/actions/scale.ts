export type ScaleDirection = 'up' | 'down' | 'none';

/** The seeds' rule: above `upAbove` percent scale up, below `downBelow` scale down, else leave it. */
export function scaleDecision(utilisation: number, upAbove: number, downBelow: number): ScaleDirection {
  if (!Number.isFinite(utilisation)) return 'none';
  if (utilisation > upAbove) return 'up';
  if (utilisation < downBelow) return 'down';
  return 'none';
}
