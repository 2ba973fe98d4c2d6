import type { FdKind } from '../model/fd-kinds.js';
import { FD_KINDS } from '../model/fd-kinds.js';
import type { Evidence } from '../model/finding.js';
import type { SamplePoint, Series } from '../model/sample.js';
import { theilSen } from '../util/slope.js';
import type { Draft } from './rule.js';
import { defineRule } from './rule.js';

/**
 * The fd count of a process rising over time (samples of `watch`, the two reads of `diagnose
 * --sample`, two snapshot files given to `diff`). The rate is a Theil–Sen slope (util/slope.ts): one
 * outlying sample neither makes nor breaks it. A count that rose and then stopped (the second half
 * of the samples flat) is a pool that filled, not a leak: info only.
 */
export default defineRule({
  id: 'fd-growth',
  severity: 'warning',
  summary: 'open fds rising over time (watch, diagnose --sample, diff), with the time left to the soft limit',
  needs: [],
  defaults: { minGrowth: 10, plateauPercent: 25, criticalMinutes: 60 },
  describe: {
    minGrowth: 'fds the fitted line must rise over the samples before it is called growth',
    plateauPercent: 'levelled off (a pool that filled) when the second half of the samples rises at most this share of the overall rate',
    criticalMinutes: 'critical when the soft RLIMIT_NOFILE is reached within this many minutes at the measured rate',
  },
  advice:
    'A count that only goes up is a leak on some path: an fd opened per request, per retry or per log ' +
    'rotation and never closed. Look at what grows (the rows below: a path, a peer, a listener, pipes, ' +
    'an anon inode type) and at the code that opens it; `fdleak diff` of two snapshots lists the fds ' +
    'themselves. Raising the limit only moves the day it fails with EMFILE.',
  check(snapshot, { minGrowth, plateauPercent, criticalMinutes }) {
    const drafts: Draft[] = [];
    for (const series of snapshot.series ?? []) {
      const process = snapshot.processes.find((p) => p.pid === series.pid && p.startTime === series.startTime);
      const draft = judge(series, process?.fdLimit?.soft ?? null, { minGrowth, plateauPercent, criticalMinutes });
      if (draft !== null) drafts.push(draft);
    }
    return drafts;
  },
});

interface Options { minGrowth: number; plateauPercent: number; criticalMinutes: number }

/** fds per minute over `points` by the robust slope of `value`. */
function ratePerMinute(points: readonly SamplePoint[], value: (p: SamplePoint) => number): number {
  return (theilSen(points.map((p) => ({ x: p.at, y: value(p) }))) ?? 0) * 60_000;
}

function judge(series: Series, soft: number | 'unlimited' | null, o: Options): Draft | null {
  const points = [...series.points].sort((a, b) => a.at - b.at);
  if (points.length < 2) return null;
  const first = points[0]!;
  const last = points[points.length - 1]!;
  const spanMs = last.at - first.at;
  if (spanMs <= 0) return null;
  const rate = ratePerMinute(points, (p) => p.fds);
  const rise = (rate * spanMs) / 60_000;
  if (rise < o.minGrowth) return null;
  // With 5 samples or more, the second half tells a pool that filled up from a steady climb.
  const tail = points.length >= 5 ? points.slice(Math.floor(points.length / 2)) : null;
  const tailRate = tail === null ? null : ratePerMinute(tail, (p) => p.fds);
  const levelled = tailRate !== null && tailRate <= (rate * o.plateauPercent) / 100;
  const minutesLeft = typeof soft === 'number' && !levelled ? Math.max(0, (soft - last.fds) / rate) : null;
  const kinds = FD_KINDS.map((k) => ({ kind: k, rate: ratePerMinute(points, (p) => p.kinds[k] ?? 0) }))
    .filter((k) => k.rate > 0 && (last.kinds[k.kind] ?? 0) > (first.kinds[k.kind] ?? 0))
    .sort((a, b) => b.rate - a.rate);
  const seconds = spanMs / 1000;
  const head: Evidence = {
    what: 'all fds', from: first.fds, to: last.fds, perMinute: round(rate),
    shape: points.length === 2 ? 'two reads' : levelled ? 'levelled off' : 'steady',
    softLimit: typeof soft === 'number' ? soft : soft === 'unlimited' ? 'unlimited' : null,
    minutesToLimit: minutesLeft === null ? null : round(minutesLeft),
  };
  const evidence: Evidence[] = [head];
  for (const k of kinds) evidence.push({ what: kindName(k.kind), from: first.kinds[k.kind] ?? 0, to: last.kinds[k.kind] ?? 0, perMinute: round(k.rate) });
  // A group that is all its kind's growth says nothing the kind's row does not, unless it names something.
  const kindRise = new Map(kinds.map((k) => [k.kind, (last.kinds[k.kind] ?? 0) - (first.kinds[k.kind] ?? 0)]));
  const named = series.changes.filter((c) => c.to > c.from && !(c.kind === 'pipe' && kindRise.get('pipe') === c.to - c.from));
  for (const c of named.slice(0, 5)) {
    evidence.push({ what: `${c.kind}: ${c.group}`, from: c.from, to: c.to, perMinute: round(((c.to - c.from) * 60) / seconds) });
  }
  const growing = kinds.map((k) => kindName(k.kind)).join(', ');
  const over = `${formatRate(rate)} over ${formatSeconds(seconds)} (${first.fds} -> ${last.fds}${points.length > 2 ? `, ${points.length} samples` : ''})`;
  if (levelled) {
    return {
      pid: series.pid, score: 0, count: Math.round(rise), severity: 'info', evidence,
      message: `fds rose ${over} and then levelled off: a pool filling up, not a leak`,
    };
  }
  const limitText = minutesLeft === null
    ? soft === 'unlimited' ? '; no soft limit' : ''
    : `; the soft limit (${soft}) is reached in ${formatMinutes(minutesLeft)} at this rate`;
  return {
    pid: series.pid,
    score: Math.round(rate),
    count: Math.round(rise),
    severity: minutesLeft !== null && minutesLeft <= o.criticalMinutes ? 'critical' : 'warning',
    message: `fds rising ${over}${growing === '' ? '' : `, growing: ${growing}`}${limitText}`,
    evidence,
    ...(points.length === 2 ? {
      confidence: 'low' as const,
      confidenceReason: 'two reads only: a burst looks the same as a leak; fdleak watch tells them apart',
    } : {}),
  };
}

function kindName(kind: FdKind): string {
  return { socket: 'sockets', pipe: 'pipes', file: 'files', anon_inode: 'anon inodes', other: 'other fds' }[kind];
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

/** "300/min (5.0/s)". */
export function formatRate(perMinute: number): string {
  return `${Math.round(perMinute)}/min (${(perMinute / 60).toFixed(1)}/s)`;
}

function formatSeconds(s: number): string {
  return s < 120 ? `${s.toFixed(1)} s` : `${(s / 60).toFixed(1)} min`;
}

/** "40 s", "12 min", "3.5 h", "2.1 days". */
function formatMinutes(m: number): string {
  if (m < 1) return `${Math.round(m * 60)} s`;
  if (m < 120) return `${Math.round(m)} min`;
  if (m < 48 * 60) return `${(m / 60).toFixed(1)} h`;
  return `${(m / 1440).toFixed(1)} days`;
}
