/**
 * The protocol of socket fds that are in no socket table (orphans): "TCP", "UDP", "TCPv6", "UNIX".
 * The kernel keeps it only in the socket inode's system.sockprotoname xattr, which is what lsof
 * reads. Node has no getxattr, and nothing else in /proc says it: /proc/<pid>/fdinfo/<fd> of a
 * socket holds only pos, flags, mnt_id and ino (checked on Linux 6.18), and /proc/net/protocols
 * counts only sockets that are hashed (bound or connected), which orphans are not. So the orphan
 * fds, and only those, are asked of lsof (`lsof -a -p PID -d FDS -F fn`, by absolute path) when it
 * is installed; without it the protocol stays unknown and the report says why.
 */
import { existsSync } from 'node:fs';

const LSOF_PATHS = ['/usr/bin/lsof', '/usr/sbin/lsof', '/bin/lsof', '/sbin/lsof'] as const;

/** fd number -> protocol name as lsof gives it, for the fds of `pid` it could name. */
export async function socketProtocols(pid: number, fds: readonly number[], warnings: string[], timeoutMs = 5000): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  if (fds.length === 0) return out;
  const lsof = LSOF_PATHS.find((p) => existsSync(p));
  if (lsof === undefined) {
    warnings.push('protocol of the sockets in no table unknown: Node cannot read their system.sockprotoname xattr and lsof is not installed');
    return out;
  }
  const { execa } = await import('execa');
  try {
    const r = await execa(lsof, ['-w', '-n', '-P', '-a', '-p', String(pid), '-d', ranges(fds), '-F', 'fn'], {
      reject: false, timeout: timeoutMs, stdin: 'ignore', env: { LC_ALL: 'C' }, extendEnv: false,
    });
    if (typeof r.stdout !== 'string') return out;
    return parseLsofProtocols(r.stdout);
  } catch {
    return out;
  }
}

/** `lsof -F fn` text -> fd number -> "TCP" for each "nprotocol: TCP" after an "f<fd>" line. */
export function parseLsofProtocols(text: string): Map<number, string> {
  const out = new Map<number, string>();
  let fd: number | null = null;
  for (const line of text.split('\n')) {
    if (line.startsWith('f')) fd = /^f\d+$/.test(line) ? Number(line.slice(1)) : null;
    else if (line.startsWith('n') && fd !== null) {
      const m = /^nprotocol: ([A-Za-z0-9_-]{1,16})$/.exec(line);
      if (m !== null) out.set(fd, m[1]!);
    }
  }
  return out;
}

/** [3,4,5,9] -> "3-5,9" (lsof's -d list syntax). */
function ranges(numbers: readonly number[]): string {
  const sorted = [...numbers].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}
