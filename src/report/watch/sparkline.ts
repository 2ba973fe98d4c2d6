const BARS = '▁▂▃▄▅▆▇█';

/**
 * The shape of a series in one line of block characters, at most `width` wide (longer series are
 * cut into `width` runs, each shown by its highest value): "▁▂▃▄▅▆▇█" climbs, "▁▅████" filled up.
 * A flat series is all low bars.
 */
export function sparkline(values: readonly number[], width = 40): string {
  if (values.length === 0) return '';
  const cells: number[] = [];
  const n = Math.min(width, values.length);
  for (let i = 0; i < n; i++) {
    const from = Math.floor((i * values.length) / n);
    const to = Math.max(from + 1, Math.floor(((i + 1) * values.length) / n));
    let max = -Infinity;
    for (let k = from; k < to; k++) max = Math.max(max, values[k]!);
    cells.push(max);
  }
  const lo = Math.min(...cells);
  const hi = Math.max(...cells);
  return cells.map((v) => BARS[hi === lo ? 0 : Math.round(((v - lo) / (hi - lo)) * (BARS.length - 1))]).join('');
}
