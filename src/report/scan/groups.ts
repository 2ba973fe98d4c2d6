import type { LocationGroupBy } from '../../model/location-groups.js';
import { groupByLocation } from '../../model/location-groups.js';
import type { ProcessStats } from '../../model/scan.js';
import type { ScanGrowth } from '../../model/scan-growth.js';

/** One row of `scan --group` (table and --json). */
export interface ScanGroupRow {
  key: string;
  name: string;
  runtime: string | null;
  processes: number;
  pids: number[];
  fds: number;
  sockets: number;
  orphanSockets: number;
  /** With --sample: the members' growth per second summed (processes compared in both reads). */
  growthPerSecond?: number;
}

/** The processes summed per unit or container (the table's --group rows). */
export function locationGroups(processes: readonly ProcessStats[], by: LocationGroupBy, growth: ScanGrowth | undefined): ScanGroupRow[] {
  const rows = processes.map((p) => ({
    pid: p.pid, location: p.location, fds: p.fds, sockets: p.sockets, orphanSockets: p.orphanSockets,
    growthPerSecond: growth?.byPid.get(p.pid)?.perSecond ?? null,
  }));
  const fields = growth === undefined ? ['fds', 'sockets', 'orphanSockets'] as const : ['fds', 'sockets', 'orphanSockets', 'growthPerSecond'] as const;
  return groupByLocation(rows, by, fields).map((g) => ({
    key: g.key, name: g.name, runtime: g.runtime, processes: g.processes, pids: g.pids,
    ...g.sums,
    ...('growthPerSecond' in g.sums ? { growthPerSecond: round(g.sums.growthPerSecond, 3) } : {}),
  }));
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
