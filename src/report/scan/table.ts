import type { Location } from '../../model/location.js';
import type { LocationGroupBy } from '../../model/location-groups.js';
import type { Access, NetnsSummary, ProcessStats, ScanSnapshot, ScanSort } from '../../model/scan.js';
import type { ScanGrowth } from '../../model/scan-growth.js';
import { locationGroups } from './groups.js';
import { percent } from '../../util/format.js';
import { compareText } from '../../util/group-by.js';
import { safeText } from '../../util/safe-text.js';

/** The styles the table uses: a chalk instance when colour is on (the command loads chalk only then), PLAIN otherwise. */
export type Paint = Record<'bold' | 'dim' | 'red' | 'yellow', (text: string) => string>;

const same = (text: string): string => text;
export const PLAIN: Paint = { bold: same, dim: same, red: same, yellow: same };

export interface ScanTableOptions {
  paint: Paint;
  /** Rows shown. */
  top: number;
  sort: ScanSort;
  /** --sample: growth per second per process (a GROWTH/S column, and who restarted or vanished). */
  growth?: ScanGrowth;
  /** --group: rows are units or containers, their processes summed. */
  group?: LocationGroupBy;
}

/** One table row: a process, or same-command processes with similar numbers ("php-fpm x40"). */
export interface ScanRow {
  members: ProcessStats[];
}

const MIN_GROUP = 3;

const SORT_TEXT: Record<ScanSort, string> = {
  fds: 'open fds', sockets: 'socket fds', orphans: 'orphan sockets', headroom: 'share of the fd limit used (least headroom first)',
  growth: 'fd growth per second between the two reads',
};

/** Widest LOCATION cell: a 12-char container id with its runtime fits, a long unit name is cut. */
const LOCATION_WIDTH = 32;

/**
 * Collapses processes of one command whose fds, sockets, orphans (and growth per second, with
 * --sample) are all close (within 25% or 4 of the smallest) and whose limit and location are the
 * same, when at least 3 such processes exist; rows keep the rank of their worst member. `ranked`
 * is already in display order.
 */
export function groupRows(ranked: readonly ProcessStats[], growth?: ScanGrowth): ScanRow[] {
  const rank = new Map(ranked.map((p, i) => [p, i]));
  const byCommand = new Map<string, ProcessStats[]>();
  for (const p of ranked) {
    const list = byCommand.get(p.command);
    if (list === undefined) byCommand.set(p.command, [p]);
    else list.push(p);
  }
  const rows: ScanRow[] = [];
  for (const list of byCommand.values()) {
    if (list.length < MIN_GROUP) {
      for (const p of list) rows.push({ members: [p] });
      continue;
    }
    const clusters: Cluster[] = [];
    for (const p of [...list].sort((a, b) => (a.fds ?? -1) - (b.fds ?? -1) || a.pid - b.pid)) {
      const home = clusters.find((c) => c.fits(p));
      if (home === undefined) clusters.push(new Cluster(p, growth));
      else home.add(p);
    }
    for (const { members: c } of clusters) {
      if (c.length >= MIN_GROUP) rows.push({ members: c.sort((a, b) => rank.get(a)! - rank.get(b)!) });
      else for (const p of c) rows.push({ members: [p] });
    }
  }
  return rows.sort((a, b) => rank.get(a.members[0]!)! - rank.get(b.members[0]!)!);
}

/** One metric over a cluster's members: how many are null, and the least and greatest of the others. */
interface Spread {
  nulls: number;
  lo: number;
  hi: number;
}

/**
 * Processes of one command that may share a row: a process fits if, with it, they have the same
 * limit, access and location, fds, sockets and orphans all null or all close (within 25% or 4 of
 * the smallest), and with --sample the same status and growth per second all null or within 1 fd/s
 * (or 25%): a leaking worker is not hidden among idle ones. Each metric's spread is kept as members
 * join, so a fit is a few comparisons: comparing every member again made the first (unoptimized)
 * table of the bench load, 150 python3 processes, take ~25 ms instead of ~2.
 */
class Cluster {
  readonly members: ProcessStats[] = [];
  private readonly spreads: Spread[] = [];

  constructor(first: ProcessStats, private readonly growth: ScanGrowth | undefined) {
    for (let m = 0; m < this.metrics(first).length; m++) this.spreads.push({ nulls: 0, lo: Infinity, hi: -Infinity });
    this.add(first);
  }

  add(p: ProcessStats): void {
    this.metrics(p).forEach((v, m) => {
      const s = this.spreads[m]!;
      if (v === null) s.nulls++;
      else {
        s.lo = Math.min(s.lo, v);
        s.hi = Math.max(s.hi, v);
      }
    });
    this.members.push(p);
  }

  fits(p: ProcessStats): boolean {
    const first = this.members[0]!;
    if (first.fdLimit?.soft !== p.fdLimit?.soft || first.unseen !== p.unseen || first.location?.id !== p.location?.id) return false;
    // Every member has the first's status: each joined only with the status of all before it.
    if (this.growth !== undefined && this.growth.byPid.get(first.pid)?.status !== this.growth.byPid.get(p.pid)?.status) return false;
    const n = this.members.length + 1;
    return this.metrics(p).every((v, m) => {
      const s = this.spreads[m]!;
      const nulls = s.nulls + (v === null ? 1 : 0);
      if (nulls === n) return true;
      if (nulls > 0) return false;
      const lo = Math.min(s.lo, v!);
      const hi = Math.max(s.hi, v!);
      // growth per second (the last metric, with --sample): within 1 fd/s or 25% of the smallest's size
      return m === 3 ? hi - lo <= Math.max(1, Math.abs(lo) * 0.25) : hi - lo <= Math.max(4, lo * 0.25);
    });
  }

  /** fds, sockets, orphans, and with --sample growth per second. */
  private metrics(q: ProcessStats): Array<number | null> {
    const values = [q.fds, q.sockets, q.orphanSockets];
    if (this.growth !== undefined) values.push(this.growth.byPid.get(q.pid)?.perSecond ?? null);
    return values;
  }
}

/**
 * The terminal report of `fdleak scan`: host summary, ranked rows, what was skipped. Plain
 * fixed-width columns (like ps, so awk can read them); colour only marks what needs a look.
 */
export function scanTable(result: ScanSnapshot, ranked: readonly ProcessStats[], options: ScanTableOptions): string {
  const { paint } = options;
  const out: string[] = [];
  const h = result.host;

  const fileMax = h.fileNr === null ? '' : `; ${h.fileNr.allocated} file handles allocated of fs.file-max ${h.fileNr.max} (${percent(h.fileNr.allocated, h.fileNr.max)})`;
  out.push(paint.bold(`${h.processes} processes, ${h.fds} fds open`) + fileMax);
  for (const n of h.namespaces) out.push(namespaceLine(n, h.namespaces.length > 1));
  out.push('');

  if (options.group !== undefined) {
    out.push(...groupTable(result, options));
    return `${out.join('\n')}\n`;
  }
  const { growth } = options;
  const shown = ranked.filter((p) => p.fds !== 0); // kernel threads and zombies hold none
  const allRows = groupRows(shown, growth);
  const rows = allRows.slice(0, options.top);
  const header = ['PID', 'COMMAND', 'FDS', 'SOCKETS', 'ORPHANS', 'LIMIT', 'USED', ...(growth === undefined ? [] : ['GROWTH/S']), 'LOCATION'];
  const cells = rows.map((r) => rowCells(r, growth));
  const widths = header.map((t, i) => Math.max(t.length, ...cells.map((c) => c[i]!.length)));
  const left = new Set([1, header.length - 1]);
  const line = (c: string[]): string => c.map((t, i) => (left.has(i) ? t.padEnd(widths[i]!) : t.padStart(widths[i]!))).join('  ').trimEnd();
  const grouped = rows.some((r) => r.members.length > 1) ? '; same-command processes with similar numbers share a row' : '';
  const sampled = growth === undefined ? '' : `; GROWTH/S: fds per second over ${growth.sampleMs / 1000} s between two reads of each process`;
  out.push(paint.dim(`ranked by ${SORT_TEXT[options.sort]}${grouped}${sampled}`));
  out.push(paint.bold(line(header)));
  rows.forEach((r, i) => {
    const c = cells[i]!;
    const worstOrphans = Math.max(...r.members.map((p) => p.orphanSockets ?? 0));
    const worstUsed = Math.max(...r.members.map((p) => p.limitUsed ?? 0));
    const text = line(c);
    out.push(worstUsed >= 0.9 ? paint.red(text) : worstUsed >= 0.75 || worstOrphans >= 10 ? paint.yellow(text) : text);
  });
  const hiddenRows = allRows.length - rows.length;
  const idle = ranked.length - shown.length;
  const more: string[] = [];
  if (hiddenRows > 0) more.push(`${hiddenRows} more row${hiddenRows === 1 ? '' : 's'} (--top ${options.top + hiddenRows} shows all)`);
  if (idle > 0) more.push(`${idle} without open fds (kernel threads, zombies) not shown`);
  if (more.length > 0) out.push(paint.dim(more.join('; ')));

  const notes: string[] = [];
  const denied = result.skippedProcesses.permission;
  if (denied.length > 0) {
    const why = result.access === null || !result.access.root ? 'other users\' processes; run as root to see them' : refusal(result.access, denied[0]!.pid);
    const uncounted = ranked.filter((p) => p.fds === null).length;
    const counts = uncounted === 0
      ? 'their fd counts are the kernel\'s'
      : `${uncounted} of them without an fd count either (before Linux 6.2, /proc/<pid>/fd reports size 0)`;
    notes.push(`sockets and orphans unknown ("?") for ${denied.length} process${denied.length === 1 ? '' : 'es'} (${why}); ${counts}: ${nameList(denied.map((d) => `${d.pid} ${d.command}`))}`);
  }
  if (result.skippedProcesses.vanished.length > 0) {
    const v = result.skippedProcesses.vanished;
    notes.push(`${v.length} process${v.length === 1 ? '' : 'es'} exited during the scan: ${nameList(v.map(String))}`);
  }
  if (growth !== undefined) {
    const r = growth.restarted;
    if (r.length > 0) notes.push(`${r.length} pid${r.length === 1 ? '' : 's'} now belong${r.length === 1 ? 's' : ''} to another process than at the first read (restarted, not compared): ${nameList(r.map((x) => `${x.pid} ${x.was} -> ${x.now}`))}`);
    const v = growth.vanished;
    if (v.length > 0) notes.push(`${v.length} process${v.length === 1 ? '' : 'es'} exited between the two reads (not compared): ${nameList(v.map((x) => `${x.pid} ${x.command}`))}`);
    const fresh = ranked.filter((p) => growth.byPid.get(p.pid)?.status === 'appeared');
    if (fresh.length > 0) notes.push(`${fresh.length} process${fresh.length === 1 ? '' : 'es'} started between the two reads ("new", not compared): ${nameList(fresh.map((p) => `${p.pid} ${p.command}`))}`);
  }
  const foreign = ranked.filter((p) => p.unseen === 'netns').length;
  if (foreign > 0) notes.push(`orphans unknown for ${foreign} process${foreign === 1 ? '' : 'es'} whose network namespace could not be read`);
  for (const w of result.warnings) notes.push(w);
  if (notes.length > 0) {
    out.push('');
    for (const n of notes) out.push(paint.yellow(`note: ${safeText(n)}`));
  }
  if (rows.length > 0) {
    // The top process whose fds could be read: diagnose of one that was refused would be refused too.
    const next = allRows.flatMap((r) => r.members).find((p) => p.unseen !== 'permission' && p.fds !== null);
    out.push('');
    out.push(paint.dim(`ORPHANS: socket fds in no table of the process's network namespace. ${next === undefined ? 'No listed process could be read fully: fdleak diagnose would be refused too' : `Next: fdleak diagnose ${next.pid}`}`));
  }
  return `${out.join('\n')}\n`;
}

function rowCells(r: ScanRow, growth: ScanGrowth | undefined): string[] {
  const m = r.members;
  const p = m[0]!;
  const range = (f: (q: ProcessStats) => number | null, fmt: (n: number) => string = String): string => {
    const values = m.map(f);
    if (values.some((v) => v === null)) return '?';
    const lo = Math.min(...(values as number[]));
    const hi = Math.max(...(values as number[]));
    return fmt(lo) === fmt(hi) ? fmt(lo) : `${fmt(lo)}-${fmt(hi)}`;
  };
  const pids = m.map((q) => q.pid);
  const limits = [...new Set(m.map((q) => (q.fdLimit === null ? '?' : String(q.fdLimit.soft))))];
  return [
    m.length === 1 ? String(p.pid) : `${Math.min(...pids)}-${Math.max(...pids)}`,
    m.length === 1 ? safeText(p.command) : `${safeText(p.command)} x${m.length}`,
    range((q) => q.fds),
    range((q) => q.sockets),
    range((q) => q.orphanSockets),
    limits.length === 1 ? limits[0]! : limits.join('/'),
    m.some((q) => q.limitUsed === null) ? '-' : range((q) => q.limitUsed, (n) => percent(n, 1)),
    ...(growth === undefined ? [] : [growthCell(m, growth, range)]),
    locationCell(p.location),
  ];
}

/** "+5.0" fds per second; "new" (started between the reads), "restarted" (pid reused), "?" (count unknown). */
function growthCell(m: readonly ProcessStats[], growth: ScanGrowth, range: (f: (q: ProcessStats) => number | null, fmt: (n: number) => string) => string): string {
  const status = growth.byPid.get(m[0]!.pid)?.status;
  if (status === 'appeared') return 'new';
  if (status === 'restarted') return 'restarted';
  return range((q) => growth.byPid.get(q.pid)?.perSecond ?? null, signed);
}

function signed(n: number): string {
  const t = n.toFixed(1);
  return t === '0.0' || t === '-0.0' ? '0' : n > 0 ? `+${t}` : t;
}

/** Where a process lives, escaped and cut to LOCATION_WIDTH: "docker:4f1c0a9b3d2e", "nginx.service", "-". */
function locationCell(l: Location | null | undefined): string {
  if (l === null || l === undefined) return '-';
  return cut(safeText(l.kind === 'container' ? `${l.runtime}:${l.name}` : l.name), LOCATION_WIDTH);
}

function cut(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, width - 1)}…`;
}

/** `scan --group unit|container`: one row per unit or container, every process summed. */
function groupTable(result: ScanSnapshot, options: ScanTableOptions): string[] {
  const { paint, growth } = options;
  const by = options.group!;
  const groups = locationGroups(result.processes, by, growth);
  const shown = groups.slice(0, options.top);
  const header = [by === 'unit' ? 'UNIT' : 'CONTAINER', 'PROCS', 'FDS', 'SOCKETS', 'ORPHANS', ...(growth === undefined ? [] : ['GROWTH/S'])];
  const cells = shown.map((g) => [
    cut(safeText(g.name), LOCATION_WIDTH * 2), String(g.processes), String(g.fds), String(g.sockets), String(g.orphanSockets),
    ...(growth === undefined ? [] : [signed(g.growthPerSecond ?? 0)]),
  ]);
  const widths = header.map((t, i) => Math.max(t.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]): string => c.map((t, i) => (i === 0 ? t.padEnd(widths[i]!) : t.padStart(widths[i]!))).join('  ').trimEnd();
  const out = [paint.dim(`processes summed by ${by === 'unit' ? 'systemd unit' : 'container'} (from /proc/<pid>/cgroup), most fds first; sockets and orphans count only processes whose fds could be read`)];
  out.push(paint.bold(line(header)));
  for (const c of cells) out.push(line(c));
  if (groups.length > shown.length) out.push(paint.dim(`${groups.length - shown.length} more (--top ${groups.length} shows all)`));
  return out;
}

function namespaceLine(n: NetnsSummary, many: boolean): string {
  const where = n.readVia === 'self' ? `${n.id} (fdleak's own)` : many ? `${n.id} (${n.processes} process${n.processes === 1 ? '' : 'es'})` : n.id;
  if (n.readVia === null) return `sockets ${where}: tables not read (every process in it exited)`;
  const states = Object.entries(n.tcpByState).sort((a, b) => b[1] - a[1] || compareText(a[0], b[0]));
  const tcp = `${n.rows.tcp ?? 0} tcp${states.length === 0 ? '' : ` (${states.map(([s, c]) => `${c} ${s}`).join(', ')})`}`;
  const others = Object.entries(n.rows).filter(([f, c]) => f !== 'tcp' && c > 0).map(([f, c]) => `${c} ${f}`);
  const tw = n.timeWait;
  let wait = `TIME_WAIT ${tw.count}`;
  if (tw.portRange !== null) {
    const size = tw.portRange[1] - tw.portRange[0] + 1;
    wait += ` against ${size} ephemeral ports (${tw.portRange[0]}-${tw.portRange[1]}, per destination)`;
  }
  if (tw.busiestPeer !== null && tw.busiestPeer.count >= 10) {
    const share = tw.portRange === null ? '' : `, ${percent(tw.busiestPeer.count, tw.portRange[1] - tw.portRange[0] + 1)} of the range`;
    wait += `; busiest destination ${tw.busiestPeer.endpoint}: ${tw.busiestPeer.count}${share}`;
  }
  return `sockets ${where}: ${[tcp, ...others].join(', ')}; ${wait}`;
}

/**
 * Why root was refused the fd links of `pid`, from what access.ts could check: no CAP_SYS_PTRACE
 * (a container without it) against a process holding capabilities fdleak lacks, a user namespace
 * of fdleak's own, or, when neither, what is left (a security module or sandbox policy).
 */
export function refusal(a: Access, pid: number): string {
  const holds = a.missingCaps.length === 0 ? '' : `pid ${pid} holds ${a.missingCaps.join(', ')}, which fdleak lacks`;
  if (a.nestedUserns === true) return `permission denied to root: fdleak runs in a user namespace of its own (a rootless container), and its root is not root over processes outside it`;
  if (a.ptrace === false) return `permission denied to root: fdleak runs without CAP_SYS_PTRACE (a container started without it?)${holds === '' ? '' : ` and ${holds}`}; the kernel's ptrace check then refuses; run fdleak with CAP_SYS_PTRACE (docker run --cap-add SYS_PTRACE) or on the host`;
  return `permission denied even to root with CAP_SYS_PTRACE${holds === '' ? '' : `; ${holds}`}: a security module or sandbox policy refuses; diagnose these from where that policy allows it`;
}

/** "1 a, 2 b, 3 c (+4 more)". */
function nameList(items: readonly string[], max = 8): string {
  return items.length <= max ? items.join(', ') : `${items.slice(0, max).join(', ')} (+${items.length - max} more)`;
}
