import { locationLabels } from '../../model/location-groups.js';
import type { ProcessStats, ScanSnapshot } from '../../model/scan.js';
import type { ScanGrowth } from '../../model/scan-growth.js';
import { safeText } from '../../util/safe-text.js';

/**
 * Prometheus text exposition (format 0.0.4) for node_exporter's textfile collector:
 * `# HELP` and `# TYPE` once per metric family, then its samples; label values escaped
 * (\\ -> \\\\, " -> \\", newline -> \\n); no timestamps (the collector stamps the scrape); ends
 * with "\n". Only gauges: every value is a level observed at scan time.
 */
export class PromWriter {
  private readonly lines: string[] = [];
  private readonly seen = new Set<string>();

  /** Starts a family; throws on a second start of the same name (one TYPE per family). */
  family(name: string, help: string, type: 'gauge' | 'counter' = 'gauge'): this {
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name)) throw new Error(`invalid metric name ${name}`);
    if (this.seen.has(name)) throw new Error(`metric family ${name} written twice`);
    this.seen.add(name);
    this.lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`);
    return this;
  }

  sample(name: string, labels: Readonly<Record<string, string | number>>, value: number): this {
    const pairs = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(String(v))}"`);
    this.lines.push(`${name}${pairs.length === 0 ? '' : `{${pairs.join(',')}}`} ${formatValue(value)}`);
    return this;
  }

  toString(): string {
    return `${this.lines.join('\n')}\n`;
  }
}

/**
 * A label value: others' text made safe first (safeText: no raw control character, ANSI/OSC
 * sequence or bidi override reaches whoever reads the file), then the text format's escaping of
 * backslash, double quote and line feed.
 */
export function escapeLabel(value: string): string {
  return safeText(value).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** HELP text escaping: backslash and line feed only. */
export function escapeHelp(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** Go-style float text: integers plain, +Inf/-Inf/NaN spelled as Prometheus reads them. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/**
 * `fdleak scan --prometheus`. Per-process gauges carry `pid`, `command`, `location_kind` and
 * `location` labels (where it lives: bounded, one value per container or unit, escaped like any
 * label) and cover the processes given (all with at least one fd, or the --top cut); a process
 * whose fd links could not be read has no sockets/orphans samples rather than a false 0.
 * `durationMs`: the scan's wall time (its timings, kept out of the data). With --sample (`growth`),
 * fdleak_process_fd_growth_per_second for each process that was the same in both reads.
 */
export function scanProm(result: ScanSnapshot, ranked: readonly ProcessStats[], durationMs: number, growth?: ScanGrowth): string {
  const w = new PromWriter();
  const procs = ranked.filter((p) => p.fds !== 0); // kernel threads and zombies hold none
  const id = (p: ProcessStats): Record<string, string> => ({ pid: String(p.pid), command: p.command, ...locationLabels(p.location) });
  const perProcess = (name: string, help: string, value: (p: ProcessStats) => number | null): void => {
    const rows = procs.filter((p) => value(p) !== null);
    if (rows.length === 0) return;
    w.family(name, help);
    for (const p of rows) w.sample(name, id(p), value(p)!);
  };
  perProcess('fdleak_process_open_fds', 'Open file descriptors of the process (entries of /proc/<pid>/fd).', (p) => p.fds);
  perProcess('fdleak_process_sockets', 'Socket file descriptors of the process.', (p) => p.sockets);
  perProcess('fdleak_process_orphan_sockets',
    'Socket fds in no socket table of the process\'s own network namespace (never bound or connected, or closed by the stack but not by the app).',
    (p) => p.orphanSockets);
  perProcess('fdleak_process_fd_limit', 'Soft RLIMIT_NOFILE of the process (+Inf when unlimited).',
    (p) => (p.fdLimit === null ? null : p.fdLimit.soft === 'unlimited' ? Infinity : p.fdLimit.soft));
  perProcess('fdleak_process_fd_limit_used_ratio', 'Open fds divided by the soft RLIMIT_NOFILE.',
    (p) => (p.limitUsed === null ? null : Math.round(p.limitUsed * 1e6) / 1e6));
  if (growth !== undefined) {
    perProcess('fdleak_process_fd_growth_per_second',
      `Change of open fds per second between two reads ${growth.sampleMs} ms apart (scan --sample); only processes that were the same (pid and start time) in both.`,
      (p) => { const g = growth.byPid.get(p.pid)?.perSecond; return g === undefined || g === null ? null : Math.round(g * 1000) / 1000; });
  }

  const h = result.host;
  w.family('fdleak_host_processes', 'Processes scanned (thread-group leaders).').sample('fdleak_host_processes', {}, h.processes);
  w.family('fdleak_host_open_fds', 'Open fds summed over the processes scanned.').sample('fdleak_host_open_fds', {}, h.fds);
  if (h.fileNr !== null) {
    w.family('fdleak_host_file_handles_allocated', 'Allocated file handles (fs.file-nr, first field).').sample('fdleak_host_file_handles_allocated', {}, h.fileNr.allocated);
    w.family('fdleak_host_file_handles_max', 'System-wide file handle limit (fs.file-max).').sample('fdleak_host_file_handles_max', {}, h.fileNr.max);
  }
  if (h.namespaces.length > 0) {
    w.family('fdleak_host_tcp_sockets', 'TCP sockets by state (tcp and tcp6 tables) of each network namespace read.');
    for (const n of h.namespaces) {
      for (const [state, count] of Object.entries(n.tcpByState)) w.sample('fdleak_host_tcp_sockets', { netns: n.id, state }, count);
    }
    w.family('fdleak_host_socket_rows', 'Rows of the /proc/net socket tables by family, per network namespace read.');
    for (const n of h.namespaces) {
      for (const [family, count] of Object.entries(n.rows)) w.sample('fdleak_host_socket_rows', { netns: n.id, family }, count);
    }
    const ranged = h.namespaces.filter((n) => n.timeWait.portRange !== null);
    if (ranged.length > 0) {
      w.family('fdleak_host_ephemeral_ports', 'Size of net.ipv4.ip_local_port_range: local ports for connections to one destination.');
      for (const n of ranged) w.sample('fdleak_host_ephemeral_ports', { netns: n.id }, n.timeWait.portRange![1] - n.timeWait.portRange![0] + 1);
    }
  }
  w.family('fdleak_scan_skipped_processes', 'Processes skipped: permission (fd links unreadable; fd count still reported) or vanished (exited mid-scan).');
  w.sample('fdleak_scan_skipped_processes', { reason: 'permission' }, result.skipped.permission);
  w.sample('fdleak_scan_skipped_processes', { reason: 'vanished' }, result.skipped.vanished);
  w.family('fdleak_scan_duration_seconds', 'Wall time of the scan.').sample('fdleak_scan_duration_seconds', {}, Math.round(durationMs) / 1000);
  return w.toString();
}
