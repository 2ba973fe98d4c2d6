import type { LocationGroupBy } from '../../model/location-groups.js';
import type { ProcessStats, ScanSnapshot, ScanSort } from '../../model/scan.js';
import type { ScanGrowth } from '../../model/scan-growth.js';
import { safeJson } from '../../util/safe-text.js';
import { locationGroups } from './groups.js';

/** What `scan --sample` and `scan --group` add to the document. */
export interface ScanJsonExtra {
  growth?: ScanGrowth;
  /** fd-growth findings, already in their JSON form (report/diagnose/json.ts findingJson: not loaded on a plain scan's path). */
  findings?: readonly unknown[];
  group?: LocationGroupBy;
}

/**
 * `fdleak scan --json`: the contract's shape (schema fdleak/scan@1), its fields first and in its
 * order; fields after them are additions. `processes` are already ranked (and cut by --top).
 * fdLimit is the soft RLIMIT_NOFILE (a number, "unlimited", or null if unreadable); limitUsed is
 * fds / fdLimit as a ratio 0..1 (null when unlimited or unknown); sockets and orphanSockets are
 * null where the fd links could not be read; location is where the process lives (null: at the
 * cgroup root, or unreadable). With --sample, each process has growthPerSecond (null unless it
 * was the same process in both reads) and growth (status, from, to, seconds, byKind: the change
 * per fd kind), the document `sample` (who restarted or vanished in between) and `findings`
 * (fd-growth). With --group, `groups`: every process (not only the --top cut) summed per unit or container. Names are
 * others' text: safeJson leaves no raw control character or bidi override in the file.
 */
export function scanJson(result: ScanSnapshot, ranked: readonly ProcessStats[], sort: ScanSort, extra: ScanJsonExtra = {}): string {
  const { growth } = extra;
  const doc = {
    schema: 'fdleak/scan@1',
    processes: ranked.map((p) => ({
      pid: p.pid,
      command: p.command,
      fds: p.fds,
      sockets: p.sockets,
      orphanSockets: p.orphanSockets,
      fdLimit: p.fdLimit?.soft ?? null,
      limitUsed: p.limitUsed === null ? null : round(p.limitUsed, 4),
      netns: p.netns,
      location: p.location,
      ...(growth === undefined ? {} : growthFields(growth, p)),
    })),
    skipped: { permission: result.skipped.permission, vanished: result.skipped.vanished },
    skippedProcesses: result.skippedProcesses,
    takenAt: result.takenAt,
    sort,
    ...(growth === undefined ? {} : {
      sample: { ms: growth.sampleMs, restarted: growth.restarted, vanished: growth.vanished },
      findings: extra.findings ?? [],
    }),
    ...(extra.group === undefined ? {} : { group: extra.group, groups: locationGroups(result.processes, extra.group, growth) }),
    host: {
      processes: result.host.processes,
      fds: result.host.fds,
      fileNr: result.host.fileNr,
      nrOpen: result.host.nrOpen,
      namespaces: result.host.namespaces.map((n) => ({
        netns: n.id, processes: n.processes, readVia: n.readVia,
        tcpByState: n.tcpByState, rows: n.rows, timeWait: n.timeWait,
      })),
    },
    warnings: result.warnings,
  };
  return `${safeJson(doc, 2)}\n`;
}

function growthFields(growth: ScanGrowth, p: ProcessStats): Record<string, unknown> {
  const g = growth.byPid.get(p.pid);
  if (g === undefined) return { growthPerSecond: null, growth: null };
  return {
    growthPerSecond: g.perSecond === null ? null : round(g.perSecond, 3),
    growth: { status: g.status, from: g.from, to: g.to, seconds: g.seconds, byKind: g.byKind },
  };
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
