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
import { runWithoutInput } from './programs.js';

const PYTHON_PATHS = ['/usr/bin/python3', '/bin/python3'] as const;
const LSOF_PATHS = ['/usr/bin/lsof', '/usr/sbin/lsof', '/bin/lsof', '/sbin/lsof'] as const;
/** Above this many open fds lsof costs more than the rest of a diagnosis (see above). */
export const LSOF_MAX_FDS = 2000;

/**
 * Prints "<fd> <protocol>" for each fd of /proc/<argv[1]>/fd that has the xattr, of the fds named on
 * the first line of stdin (python3 is started before the orphans are known, see startProtocolHelper).
 * One line, not stdin to its end: the line is in the pipe as soon as it is written (Node tries the
 * write at once), where the end of stdin comes only on the event loop's next turn, which the main
 * thread, parsing the tables, does not take until it waits for the answer. Waiting for the end, the
 * helper started its lookups only then: measured on a 15,000-fd process with 2,000 orphans at load
 * 4-5, the answer was still waited for 16-35 ms though asked 90-180 ms earlier.
 * From inside fd/ where it can (each lookup then walks one path component, not four, as
 * proc-pid.ts's readlinks), printed in one write, and gone without the interpreter's clean-up
 * (os._exit after the flush): the answer is waited for, and for 2,000 orphans these took its
 * time from being asked to its exit from 19-53 ms to 15-38 ms (6 runs each, load 2.6).
 */
const GETXATTR = `import os,sys
d='/proc/%s/fd'%sys.argv[1]
try: os.chdir(d); d=''
except OSError: d+='/'
out=[]
for n in sys.stdin.readline().split():
  try: out.append('%s %s\\n'%(n,os.getxattr(d+n,'system.sockprotoname').rstrip(b'\\0').decode('ascii','replace')))
  except OSError: pass
sys.stdout.write(''.join(out)); sys.stdout.flush(); os._exit(0)`;

/** python3 started for one process, waiting on stdin for the fds to look at. */
export interface ProtocolHelper {
  /** Hands it the fds and resolves to what it found (fd number -> protocol); once. */
  ask(fds: readonly number[]): Promise<Map<number, string>>;
  /** Lets it go unasked (its stdin closed: it exits at once); nothing after ask. */
  close(): void;
}

/**
 * Starts python3 for `pid` now, before the orphans are known, so that its start-up runs while the
 * fds and tables are read, and only the lookups are left to wait for. Measured on a 15,000-fd
 * process with 4,500 orphans, 8 alternating runs each at a load average of ~7.7 on 2 cores: the
 * step of --debug that waits for the answer ("limits and sysctls") took a median 63 ms instead of
 * 86 when python3 was started once the orphans were known. It costs a python3 start where there
 * is no orphan (its stdin is closed at once). Undefined where python3 is not installed
 * (startSocketProtocols then falls back to lsof). The caller asks or closes it.
 */
export async function startProtocolHelper(pid: number, timeoutMs = 5000): Promise<ProtocolHelper | undefined> {
  const python = PYTHON_PATHS.find((p) => existsSync(p));
  if (python === undefined) return undefined;
  // A node: built-in by getBuiltinModule, not import(): the start-up snapshot (cli/snapshot.ts) has no import().
  const { execFile } = process.getBuiltinModule('node:child_process');
  let settle!: (out: string | null) => void;
  const output = new Promise<string | null>((resolve) => (settle = resolve));
  const child = execFile(python, ['-I', '-S', '-c', GETXATTR, String(pid)], { timeout: timeoutMs, env: { LC_ALL: 'C' }, maxBuffer: 16 << 20, encoding: 'latin1' }, (error, out) => {
    // A timeout or a non-zero exit still gives what was printed (python stops at no fd).
    settle(error !== null && typeof out !== 'string' ? null : out);
  });
  child.stdin?.on('error', () => {}); // it died first (timeout, killed): its answer says so
  let asked = false;
  return {
    async ask(fds) {
      if (asked) return new Map();
      asked = true;
      child.stdin?.end(`${fds.join(' ')}\n`);
      const out = await output;
      return out === null ? new Map() : parseXattrLines(out);
    },
    close() {
      if (asked) return;
      asked = true;
      child.stdin?.end();
    },
  };
}

/**
 * Asks the helper program about the fds of `pid` (`fdCount`: the process's open fds): python3 as
 * startProtocolHelper started it (`helper`), else started here, else lsof. Resolves once it runs:
 * its `result` (fd number -> protocol name, for the fds it could name) comes later. The caller
 * reads the rest of the process meanwhile: the helper is a process of its own, so the two overlap.
 */
export async function startSocketProtocols(
  pid: number,
  fds: readonly number[],
  fdCount: number,
  warnings: string[],
  helper?: ProtocolHelper,
  timeoutMs = 5000,
): Promise<{ result: Promise<Map<number, string>> }> {
  if (fds.length === 0) {
    helper?.close();
    return { result: Promise.resolve(new Map()) };
  }
  const started = helper ?? await startProtocolHelper(pid, timeoutMs);
  if (started !== undefined) return { result: started.ask(fds) };
  // No python3: lsof, where the process is small enough (see LSOF_MAX_FDS).
  const lsof = fdCount <= LSOF_MAX_FDS ? LSOF_PATHS.find((p) => existsSync(p)) : undefined;
  if (lsof === undefined) {
    warnings.push(`protocol of the sockets in no table unknown: Node cannot read their system.sockprotoname xattr, python3 is not installed${fdCount > LSOF_MAX_FDS ? ` and lsof would read all ${fdCount} fds` : ' nor lsof'}`);
    return { result: Promise.resolve(new Map()) };
  }
  const args = ['-w', '-n', '-P', '-a', '-p', String(pid), '-d', numberRuns(fds).join(','), '-F', 'fn'];
  // Spawned before this returns; a timeout or a non-zero exit still gives what was printed.
  const run = runWithoutInput(lsof, args, { timeout: timeoutMs, env: { LC_ALL: 'C' }, maxBuffer: 16 << 20, encoding: 'latin1' });
  return { result: run.then(({ stdout }) => parseLsofProtocols(stdout)) };
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

