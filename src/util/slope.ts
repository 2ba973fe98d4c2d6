/**
 * Theil–Sen estimator: the median of the slopes between every pair of points. Robust: up to ~29% of
 * the points can be anything (a burst, a sample read while a pool was refilled) without moving it
 * much, where least squares follows a single outlier. Above MAX_POINTS points it runs on MAX_POINTS
 * points taken evenly across the series (10 minutes at 100 ms is 6,000 samples, 18 million pairs).
 */
export interface Point {
  x: number;
  y: number;
}

const MAX_POINTS = 200;

/** Median of the pairwise slopes; null with fewer than two distinct x. */
export function theilSen(points: readonly Point[]): number | null {
  const pts = thin(points);
  const slopes: number[] = [];
  for (let i = 0; i < pts.length; i++) {
    for (let j = i + 1; j < pts.length; j++) {
      const dx = pts[j]!.x - pts[i]!.x;
      if (dx !== 0) slopes.push((pts[j]!.y - pts[i]!.y) / dx);
    }
  }
  return slopes.length === 0 ? null : median(slopes);
}

/** Median (mean of the two middle values for an even count); NaN for none. */
export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function thin(points: readonly Point[]): readonly Point[] {
  if (points.length <= MAX_POINTS) return points;
  const out: Point[] = [];
  for (let i = 0; i < MAX_POINTS; i++) out.push(points[Math.round((i * (points.length - 1)) / (MAX_POINTS - 1))]!);
  return out;
}
