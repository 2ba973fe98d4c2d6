import type { ProcessStats, ScanSnapshot, ScanSort } from '../../model/scan.js';
import { safeJson } from '../../util/safe-text.js';

/**
 * `fdleak scan --json`: the contract's shape (schema fdleak/scan@1), its fields first and in its
 * order; fields after them are additions. `processes` are already ranked (and cut by --top).
 * fdLimit is the soft RLIMIT_NOFILE (a number, "unlimited", or null if unreadable); limitUsed is
 * fds / fdLimit as a ratio 0..1 (null when unlimited or unknown); sockets and orphanSockets are
 * null where the fd links could not be read. Names are others' text: safeJson leaves no raw
 * control character or bidi override in the file.
 */
export function scanJson(result: ScanSnapshot, ranked: readonly ProcessStats[], sort: ScanSort): string {
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
    })),
    skipped: { permission: result.skipped.permission, vanished: result.skipped.vanished },
    skippedProcesses: result.skippedProcesses,
    takenAt: result.takenAt,
    sort,
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

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
