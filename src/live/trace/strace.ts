/**
 * Runs strace as a long-running collector for `fdleak trace`: execa with an argv (absolute paths,
 * no PATH lookup, no shell), its trace written to a FIFO that is read as a stream, line by line.
 *
 *   /usr/bin/setpriv --pdeathsig TERM -- /usr/bin/strace -f -k -y -I1 -e signal=none
 *       -e trace=?open,?openat,... -o FIFO (-p PID | -- CMD ARGS...)
 *
 * Safety of the tracee (checked by test/acceptance/trace-exit.test.ts):
 * - `-I1`: strace takes SIGTERM/SIGINT at any time, detaches every task and exits; without it a
 *   launch with `-o` blocks fatal signals (strace's default -I3) and the tracee stays traced.
 * - setpriv's PDEATHSIG: if fdleak dies (even SIGKILL) strace gets SIGTERM and detaches.
 * - the FIFO: once fdleak is gone its read end closes, strace's next write gets EPIPE/SIGPIPE.
 * - stop() escalates to SIGKILL after a grace period: the kernel detaches the tracees of a dead tracer.
 */
import { closeSync, constants, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../../errors.js';
import { TRACED_SYSCALLS } from '../../trace/fd-tracker.js';

const STRACE_PATHS = ['/usr/bin/strace', '/bin/strace', '/usr/local/bin/strace'];
const SETPRIV_PATHS = ['/usr/bin/setpriv', '/bin/setpriv'];
const MKFIFO_PATHS = ['/usr/bin/mkfifo', '/bin/mkfifo'];
const TRUE_PATHS = ['/usr/bin/true', '/bin/true'];

/** The fixed part of strace's argv (README of fixtures/strace/ quotes it). */
// -y, not -yy: -yy decodes each socket through sock_diag, which costs a dump of the namespace's
// table per printed socket (20 vs 72 requests in 3 s on a host with 37,000 TCP sockets).
export const STRACE_ARGS = ['-f', '-k', '-y', '-I1', '-e', 'signal=none', '-e', `trace=${TRACED_SYSCALLS}`];

/** First path that exists, or undefined. */
export function firstExisting(paths: readonly string[]): string | undefined {
  return paths.find((p) => existsSync(p));
}

/** Tools found by absolute path; an InputError (exit 2) when strace is missing or has no -k. */
export async function findTools(): Promise<{ strace: string; setpriv: string | undefined }> {
  const strace = firstExisting(STRACE_PATHS);
  if (strace === undefined) {
    throw new InputError(`strace not found (looked in ${STRACE_PATHS.join(', ')}); install it (Debian/Ubuntu: apt-get install strace)`, { source: 'trace' });
  }
  const { execa } = await import('execa');
  const probe = firstExisting(TRUE_PATHS) ?? process.execPath;
  const r = await execa(strace, ['-k', '-qq', '-e', 'trace=none', '-o', '/dev/null', '--', probe, ...(probe === process.execPath ? ['-e', ''] : [])],
    { reject: false, timeout: 20_000, stdin: 'ignore', stdout: 'ignore', stderr: 'pipe' });
  if (r.exitCode !== 0) {
    const why = String(r.stderr).split('\n').find((l) => l.trim() !== '') ?? `exit code ${r.exitCode}`;
    throw new InputError(`${strace} cannot print stack traces (-k): ${why.trim()}; fdleak trace needs a strace built with libunwind (Debian's is)`, { source: 'trace' });
  }
  return { strace, setpriv: firstExisting(SETPRIV_PATHS) };
}

/** Refuses, with the reason, a pid strace could not attach to (exit 2 through InputError). */
export function checkAttachable(pid: number, procRoot = '/proc'): void {
  let status: string;
  try {
    status = readFileSync(`${procRoot}/${pid}/status`, 'utf8');
  } catch {
    throw new InputError('no such process', { source: `pid ${pid}` });
  }
  const tracer = /^TracerPid:\s*(\d+)/m.exec(status)?.[1];
  if (tracer !== undefined && tracer !== '0') {
    throw new InputError(`already traced by pid ${tracer} (TracerPid in /proc/${pid}/status); a process has one tracer at a time: stop that one first`, { source: `pid ${pid}` });
  }
  if (/^State:\s*Z/m.test(status)) throw new InputError('is a zombie: nothing to trace', { source: `pid ${pid}` });
}

/** Why ptrace may be refused here, for the error line: yama's ptrace_scope when it is set. */
function ptraceHint(): string {
  try {
    const scope = readFileSync('/proc/sys/kernel/yama/ptrace_scope', 'utf8').trim();
    if (scope !== '0') return ` (kernel.yama.ptrace_scope is ${scope}: ${scope === '3' ? 'no process may attach' : 'run as root'})`;
  } catch { /* no yama */ }
  return ' (needs root or CAP_SYS_PTRACE over the process; in a container, the runtime may forbid ptrace)';
}

export type StraceTarget = { pid: number } | { argv: readonly string[] };

export interface StraceHandle {
  /** Resolves when every line has been delivered (strace exited and the FIFO drained). */
  done: Promise<{ exitCode: number | null }>;
  /** Detaches (SIGTERM to strace, SIGKILL after `graceMs`); resolves when strace has exited. */
  stop(graceMs?: number): Promise<void>;
  /** strace's pid (for tests and --debug). */
  pid: number | undefined;
  /** Resolves once strace reported it attached (attach) or started the command (launch). */
  ready: Promise<void>;
}

/**
 * Starts strace on `target`; every complete line of its trace goes to `onLine`, in order.
 * A launched command's stdout and stderr go to fdleak's stderr: stdout holds only the report.
 */
export async function startStrace(
  target: StraceTarget,
  tools: { strace: string; setpriv: string | undefined },
  onLine: (line: string) => void,
  options: { signal?: AbortSignal } = {},
): Promise<StraceHandle> {
  const { execa } = await import('execa');
  const dir = mkdtempSync(join(tmpdir(), 'fdleak-trace-'));
  const fifo = join(dir, 'strace.out');
  const mkfifo = firstExisting(MKFIFO_PATHS);
  if (mkfifo === undefined) throw new InputError('mkfifo not found (coreutils)', { source: 'trace' });
  const made = await execa(mkfifo, ['-m', '600', fifo], { reject: false, timeout: 10_000, stdin: 'ignore' });
  if (made.exitCode !== 0) throw new InputError(`cannot create a FIFO in ${dir}: ${String(made.stderr).trim()}`, { source: 'trace' });
  // Read end non-blocking (opening it does not wait for a writer), and a write end of our own so
  // the reader sees no EOF before strace opens the FIFO; it is closed when strace has exited.
  const readFd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  let keepOpen: number | null = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
  const reader = new Socket({ fd: readFd, readable: true, writable: false });
  reader.setEncoding('utf8');

  const args = [...STRACE_ARGS, '-o', fifo];
  const launch = 'argv' in target;
  // No --seccomp-bpf: its filter stays in the tracee after strace detaches, and every traced
  // syscall then fails with ENOSYS (seen here: a launched python died in site.py at the window's end).
  if (launch) args.push('--', ...target.argv);
  else args.push('-p', String(target.pid));
  const [file, argv] = tools.setpriv === undefined ? [tools.strace, args] : [tools.setpriv, ['--pdeathsig', 'TERM', '--', tools.strace, ...args]];
  const child = launch
    ? execa(file, argv, { reject: false, buffer: false, cleanup: false, stdin: 'inherit', stdout: 2, stderr: 2 })
    : execa(file, argv, { reject: false, buffer: false, cleanup: false, stdin: 'ignore', stdout: 'ignore', stderr: 'pipe' });

  let readyResolve!: () => void;
  let readyReject!: (e: Error) => void;
  const ready = new Promise<void>((res, rej) => { readyResolve = res; readyReject = rej; });
  ready.catch(() => undefined);
  const errors: string[] = [];
  if (launch) readyResolve();
  else {
    let partial = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => {
      partial += d;
      let nl: number;
      while ((nl = partial.indexOf('\n')) >= 0) {
        const line = partial.slice(0, nl);
        partial = partial.slice(nl + 1);
        if (/Process \d+ attached/.test(line)) readyResolve();
        else if (!/Process \d+ detached/.test(line) && line.trim() !== '' && errors.length < 5) errors.push(line.trim());
      }
      if (partial.length > 4096) partial = '';
    });
  }

  let pending = '';
  reader.on('data', (chunk: string) => {
    pending += chunk;
    let from = 0;
    for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n', from)) {
      onLine(pending.slice(from, nl));
      from = nl + 1;
    }
    pending = from === 0 ? pending : pending.slice(from);
    if (pending.length > 1 << 20) pending = ''; // no line is that long: not strace's output
  });
  const drained = new Promise<void>((resolve) => {
    reader.once('end', () => { if (pending !== '') onLine(pending); pending = ''; resolve(); });
    reader.once('error', () => resolve());
  });

  let stopping: Promise<void> | undefined;
  const exited = child.then((r) => r.exitCode ?? null);
  const closeKeep = (): void => {
    if (keepOpen !== null) { closeSync(keepOpen); keepOpen = null; }
  };
  const done = exited.then(async (exitCode) => {
    closeKeep();
    await drained;
    reader.destroy();
    rmSync(dir, { recursive: true, force: true });
    if (!launch && stopping === undefined && errors.length > 0) {
      const refused = errors.find((e) => /attach: ptrace/.test(e));
      const message = refused !== undefined
        ? `strace could not attach: ${refused.replace(/^\S*strace: /, '')}${/not permitted/i.test(refused) ? ptraceHint() : ''}`
        : `strace stopped: ${errors[0]!.replace(/^\S*strace: /, '')}`;
      const error = new InputError(message, { source: `pid ${(target as { pid: number }).pid}` });
      readyReject(error);
      throw error;
    }
    readyResolve();
    return { exitCode };
  });
  done.catch(() => undefined);

  const stop = (graceMs = 5000): Promise<void> => {
    stopping ??= (async () => {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    })();
    return stopping;
  };
  options.signal?.addEventListener('abort', () => void stop(), { once: true });
  return { done, stop, pid: child.pid, ready };
}
