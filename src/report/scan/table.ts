import type { Access, NetnsSummary, ProcessStats, ScanSnapshot, ScanSort } from '../../model/scan.js';
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
}

/** One table row: a process, or same-command processes with similar numbers ("php-fpm x40"). */
export interface ScanRow {
  members: ProcessStats[];
}

const MIN_GROUP = 3;

const SORT_TEXT: Record<ScanSort, string> = {
  fds: 'open fds', sockets: 'socket fds', orphans: 'orphan sockets', headroom: 'share of the fd limit used (least headroom first)',
};

/**
 * Collapses processes of one command whose fds, sockets and orphans are all close (within 25% or
 * 4 of the smallest) and whose limit is the same, when at least 3 such processes exist; rows keep
 * the rank of their worst member. `ranked` is already in display order.
 */
export function groupRows(ranked: readonly ProcessStats[]): ScanRow[] {
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
    const clusters: ProcessStats[][] = [];
    for (const p of [...list].sort((a, b) => (a.fds ?? -1) - (b.fds ?? -1) || a.pid - b.pid)) {
      const home = clusters.find((c) => fits(c, p));
      if (home === undefined) clusters.push([p]);
      else home.push(p);
    }
    for (const c of clusters) {
      if (c.length >= MIN_GROUP) rows.push({ members: c.sort((a, b) => rank.get(a)! - rank.get(b)!) });
      else for (const p of c) rows.push({ members: [p] });
    }
  }
  return rows.sort((a, b) => rank.get(a.members[0]!)! - rank.get(b.members[0]!)!);
}

function fits(cluster: readonly ProcessStats[], p: ProcessStats): boolean {
  const first = cluster[0]!;
  if (first.fdLimit?.soft !== p.fdLimit?.soft || first.unseen !== p.unseen) return false;
  const metrics: Array<(q: ProcessStats) => number | null> = [(q) => q.fds, (q) => q.sockets, (q) => q.orphanSockets];
  return metrics.every((m) => {
    const values = [...cluster, p].map(m);
    if (values.every((v) => v === null)) return true;
    if (values.some((v) => v === null)) return false;
    const lo = Math.min(...(values as number[]));
    const hi = Math.max(...(values as number[]));
    return hi - lo <= Math.max(4, lo * 0.25);
  });
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

  const shown = ranked.filter((p) => p.fds !== 0); // kernel threads and zombies hold none
  const allRows = groupRows(shown);
  const rows = allRows.slice(0, options.top);
  const header = ['PID', 'COMMAND', 'FDS', 'SOCKETS', 'ORPHANS', 'LIMIT', 'USED'];
  const cells = rows.map((r) => rowCells(r));
  const widths = header.map((t, i) => Math.max(t.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]): string => c.map((t, i) => (i === 1 ? t.padEnd(widths[i]!) : t.padStart(widths[i]!))).join('  ').trimEnd();
  const grouped = rows.some((r) => r.members.length > 1) ? '; same-command processes with similar numbers share a row' : '';
  out.push(paint.dim(`ranked by ${SORT_TEXT[options.sort]}${grouped}`));
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

function rowCells(r: ScanRow): string[] {
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
  ];
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
