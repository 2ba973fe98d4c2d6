import type { FdKind } from '../../model/fd.js';
import { FD_KINDS } from '../../model/fd.js';
import type { SamplePoint } from '../../model/sample.js';
import { theilSen } from '../../util/slope.js';
import { formatRate } from '../../rules/fd-growth.js';

const SHORT: Record<FdKind, string> = { socket: 'sockets', pipe: 'pipes', file: 'files', anon_inode: 'anon', other: 'other' };

/**
 * One line per sample while `watch` runs: time, open fds, change since the previous sample, rate
 * so far (robust slope over the samples), and the kinds that grew since the first sample.
 * "08:31:02  fds 140  +5  rate 300/min (5.0/s)  growing: pipes +9, sockets +8, files +8"
 */
export function liveLine(points: readonly SamplePoint[]): string {
  const last = points[points.length - 1]!;
  const first = points[0]!;
  const prev = points.length > 1 ? points[points.length - 2]! : last;
  const time = new Date(last.at).toISOString().slice(11, 19);
  const change = last.fds - prev.fds;
  const parts = [`${time}  fds ${last.fds}`, points.length > 1 ? (change >= 0 ? `+${change}` : `${change}`) : 'first sample'];
  if (points.length > 1) {
    const slope = theilSen(points.map((p) => ({ x: p.at, y: p.fds }))) ?? 0;
    parts.push(`rate ${formatRate(slope * 60_000)}`);
    const growing = FD_KINDS.map((k) => [k, (last.kinds[k] ?? 0) - (first.kinds[k] ?? 0)] as const).filter(([, d]) => d > 0)
      .sort((a, b) => b[1] - a[1]).map(([k, d]) => `${SHORT[k]} +${d}`);
    if (growing.length > 0) parts.push(`growing: ${growing.join(', ')}`);
  }
  return parts.join('  ');
}
