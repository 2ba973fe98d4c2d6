import type { Fd } from '../model/fd.js';
import { formatBytes } from '../util/bytes.js';
import { groupBy, compareText } from '../util/group-by.js';
import { plural } from '../util/format.js';
import { defineRule } from './rule.js';

const DELETED = ' (deleted)';

/** The directory of "/var/log/app.log (deleted)": "/var/log". */
function directoryOf(target: string): string {
  const path = target.endsWith(DELETED) ? target.slice(0, -DELETED.length) : target;
  const slash = path.lastIndexOf('/');
  return slash <= 0 ? '/' : path.slice(0, slash);
}

/**
 * Files unlinked while a process still holds them open: the disk space is freed only at the last
 * close(), so `df` and `du` disagree and a full disk survives `rm`. Bytes come from stat through
 * /proc/<pid>/fd/N (live) or lsof's SIZE/OFF (captures: size only, no blocks).
 */
export default defineRule({
  id: 'deleted-files',
  severity: 'warning',
  summary: 'files deleted but still held open, with the bytes they keep on disk',
  needs: ['fdTables'],
  defaults: { min: 5, warnBytes: 100 * 1024 * 1024, criticalBytes: 1024 * 1024 * 1024, evidence: 5 },
  describe: {
    min: 'deleted files one process must hold to fire (whatever their size)',
    warnBytes: 'or: bytes they hold (on disk where known, else their size) to fire',
    criticalBytes: 'critical from this many bytes on',
    evidence: 'directories listed',
  },
  advice:
    'A deleted file keeps its disk space until the last fd on it is closed: df says the disk is full ' +
    'while du finds nothing. Usual causes: log rotation that renames or deletes the file without telling ' +
    'the process to reopen it (logrotate: a postrotate that signals the process, e.g. `kill -HUP`, or ' +
    '`copytruncate`, which truncates in place and needs no reopen), and temporary files that are ' +
    'unlinked at once and never closed. To reclaim space now without a restart, truncate through the ' +
    'fd: `: > /proc/<pid>/fd/<n>` (the data is lost); `lsof +L1` lists them.',
  check(snapshot, { min, warnBytes, criticalBytes, evidence }) {
    const held = groupBy(snapshot.fds.filter((f) => f.deleted === true), (f) => f.pid);
    return [...held].flatMap(([pid, fds]) => {
      const bytesOf = (f: Fd): number | null => f.diskBytes ?? f.size ?? null;
      const known = fds.filter((f) => bytesOf(f) !== null);
      const bytes = known.reduce((sum, f) => sum + bytesOf(f)!, 0);
      const onDisk = fds.some((f) => f.diskBytes !== undefined && f.diskBytes !== null);
      if (fds.length < min && bytes < warnBytes) return [];
      const dirs = [...groupBy(fds, (f) => directoryOf(f.target))]
        .map(([directory, list]) => ({
          directory,
          files: list.length,
          bytes: list.reduce((s, f) => s + (bytesOf(f) ?? 0), 0),
          size: list.reduce((s, f) => s + (f.size ?? 0), 0),
          example: list[0]!.target.slice(0, -DELETED.length),
          fd: list[0]!.fd,
        }))
        .sort((a, b) => b.bytes - a.bytes || b.files - a.files || compareText(a.directory, b.directory));
      const top = dirs[0]!;
      const unknown = fds.length - known.length;
      const what = onDisk ? 'on disk' : 'in size';
      return [{
        pid,
        score: fds.length + Math.round(bytes / (1024 * 1024)),
        count: fds.length,
        severity: bytes >= criticalBytes ? ('critical' as const) : undefined,
        message: `${plural(fds.length, 'deleted file')} still open, holding ${formatBytes(bytes)} ${what}` +
          (dirs.length > 1 ? `, ${top.files} in ${top.directory}` : ` in ${top.directory}`) +
          (unknown > 0 ? ` (${unknown} of unknown size)` : '') +
          (onDisk ? '' : ' (sizes: the capture gives no disk blocks)') +
          ` (threshold ${min} files or ${formatBytes(warnBytes)})`,
        evidence: dirs.slice(0, evidence).map((d) => ({ ...d })),
      }];
    });
  },
});
