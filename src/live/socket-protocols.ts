/**
 * The protocol of socket fds that are in no socket table (orphans): "TCP", "UDP", "TCPv6", "UNIX".
 * The kernel keeps it only in the socket inode's system.sockprotoname xattr, which is what lsof
 * reads. Node has no getxattr, and nothing else in /proc says it: /proc/<pid>/fdinfo/<fd> of a
 * socket holds only pos, flags, mnt_id and ino (checked on Linux 6.18), and /proc/net/protocols
 * counts only sockets that are hashed (bound or connected), which orphans are not. So the orphan
 * fds, and only those, are asked of a helper program run by absolute path:
 * - python3 (`os.getxattr` on /proc/<pid>/fd/<n>): its cost follows the orphans, not the process:
 *   2,000 orphans of a 15,000-fd process took 60 ms here, start-up 20 ms;
 * - else lsof (`lsof -a -p PID -d FDS -F fn`), but only for a process of at most LSOF_MAX_FDS fds:
 *   lsof walks every fd of the process whatever -d says (1.1 s for 36 fds of a 15,000-fd process
 *   here, as long as a whole `lsof -p`);
 * otherwise the protocol stays unknown and the report says why.
 */
import { existsSync } from 'node:fs';
import { numberRuns } from '../util/format.js';

const PYTHON_PATHS = ['/usr/bin/python3', '/bin/python3'] as const;
const LSOF_PATHS = ['/usr/bin/lsof', '/usr/sbin/lsof', '/bin/lsof', '/sbin/lsof'] as const;
/** Above this many open fds lsof costs more than the rest of a diagnosis (see above). */
export const LSOF_MAX_FDS = 2000;

/** Prints "<fd> <protocol>" for each fd named in argv[2:] of /proc/<argv[1]>/fd that has the xattr. */
const GETXATTR = `import os,sys
d='/proc/%s/fd/'%sys.argv[1]
for n in sys.argv[2:]:
  try: print(n,os.getxattr(d+n,'system.sockprotoname').rstrip(b'\\0').decode('ascii','replace'))
  except OSError: pass`;

/** fd number -> protocol name, for the fds of `pid` it could name; `fdCount`: the process's open fds. */
export async function socketProtocols(pid: number, fds: readonly number[], fdCount: number, warnings: string[], timeoutMs = 5000): Promise<Map<number, string>> {
  if (fds.length === 0) return new Map();
  const python = PYTHON_PATHS.find((p) => existsSync(p));
  const lsof = python === undefined && fdCount <= LSOF_MAX_FDS ? LSOF_PATHS.find((p) => existsSync(p)) : undefined;
  if (python === undefined && lsof === undefined) {
    warnings.push(`protocol of the sockets in no table unknown: Node cannot read their system.sockprotoname xattr, python3 is not installed${fdCount > LSOF_MAX_FDS ? ` and lsof would read all ${fdCount} fds` : ' nor lsof'}`);
    return new Map();
  }
  const { execa } = await import('execa');
  const [file, args] = python !== undefined
    ? [python, ['-I', '-S', '-c', GETXATTR, String(pid), ...fds.map(String)]]
    : [lsof!, ['-w', '-n', '-P', '-a', '-p', String(pid), '-d', numberRuns(fds).join(','), '-F', 'fn']];
  try {
    const r = await execa(file, args, { reject: false, timeout: timeoutMs, stdin: 'ignore', env: { LC_ALL: 'C' }, extendEnv: false });
    if (typeof r.stdout !== 'string') return new Map();
    return python !== undefined ? parseXattrLines(r.stdout) : parseLsofProtocols(r.stdout);
  } catch {
    return new Map();
  }
}

/** "<fd> <protocol>" lines -> fd number -> protocol (names of 1-16 safe characters only). */
export function parseXattrLines(text: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const line of text.split('\n')) {
    const m = /^(\d+) ([A-Za-z0-9_-]{1,16})$/.exec(line);
    if (m !== null) out.set(Number(m[1]), m[2]!);
  }
  return out;
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

