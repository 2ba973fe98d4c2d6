import type { Location } from './location.js';
import { compareText } from '../util/group-by.js';

export type LocationGroupBy = 'unit' | 'container';

/** One row of `scan --group`: the processes of one container or unit, their counts summed. */
export interface LocationGroup<K extends string> {
  /** Container id or unit name; "" for processes that are in none. */
  key: string;
  /** What to show: 12-char container id (with "pod <uid>" for Kubernetes), unit name, "(host)" or "(no unit)". */
  name: string;
  runtime: string | null;
  processes: number;
  pids: number[];
  sums: Record<K, number>;
}

/** The key a process is grouped under, and its display name. */
export function locationKey(location: Location | null | undefined, by: LocationGroupBy): { key: string; name: string; runtime: string | null } {
  if (by === 'container') {
    if (location?.kind === 'container') return { key: location.id, name: location.pod === null ? location.name : `${location.name} (pod ${location.pod})`, runtime: location.runtime };
    if (location?.kind === 'pod') return { key: `pod:${location.id}`, name: location.name, runtime: location.runtime };
    return { key: '', name: '(host)', runtime: null };
  }
  const unit = location?.unit ?? null;
  return unit === null ? { key: '', name: '(no unit)', runtime: null } : { key: unit, name: unit, runtime: location?.runtime ?? null };
}

/**
 * Pure: sums `fields` of `rows` per container or unit, largest first by the first field, then by
 * name. Rows whose field is null (unknown) add nothing to that sum.
 * Example: rows [{pid:1, location: docker A, fds: 10}, {pid:2, location: docker A, fds: 5}] by
 * "container" -> [{ key: A, processes: 2, pids: [1, 2], sums: { fds: 15 } }].
 */
export function groupByLocation<K extends string>(
  rows: ReadonlyArray<{ pid: number; location?: Location | null } & { [F in K]: number | null }>,
  by: LocationGroupBy,
  fields: readonly K[],
): Array<LocationGroup<K>> {
  const groups = new Map<string, LocationGroup<K>>();
  for (const row of rows) {
    const { key, name, runtime } = locationKey(row.location, by);
    let g = groups.get(key);
    if (g === undefined) {
      g = { key, name, runtime, processes: 0, pids: [], sums: Object.fromEntries(fields.map((f) => [f, 0])) as Record<K, number> };
      groups.set(key, g);
    }
    g.processes++;
    g.pids.push(row.pid);
    for (const f of fields) g.sums[f] += row[f] ?? 0;
  }
  const first = fields[0];
  return [...groups.values()].sort((a, b) => (first === undefined ? 0 : b.sums[first] - a.sums[first]) || compareText(a.name, b.name));
}

/** Longest location label value: container ids are cut to 12 characters already, unit names rarely exceed it. */
export const MAX_LOCATION_LABEL = 64;

/**
 * Prometheus labels for where a process lives: `location_kind` (container, pod, unit, slice, none)
 * and `location` (the short name, at most MAX_LOCATION_LABEL characters; "" for none). Bounded: one
 * value per container or unit, never a pid or a full cgroup path. The reporter still escapes them.
 */
export function locationLabels(location: Location | null | undefined): { location_kind: string; location: string } {
  if (location === null || location === undefined) return { location_kind: 'none', location: '' };
  const name = location.kind === 'container' ? location.name : location.kind === 'pod' ? location.id : location.name;
  return { location_kind: location.kind, location: name.length > MAX_LOCATION_LABEL ? name.slice(0, MAX_LOCATION_LABEL) : name };
}
