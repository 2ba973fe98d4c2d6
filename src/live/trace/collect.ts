/**
 * `fdleak trace`: runs strace (strace.ts) for a window, feeds its lines through the parser
 * (parse/strace.ts) into the fd lifecycle (trace/fd-tracker.ts), then reads the end state of each
 * live traced process from /proc (live/diagnose.ts collectLiveProcess: socket states, orphans) and
 * the source lines of the frames (addr2line.ts), and assembles the `fdleak/trace@1` result.
 * The window ends at --duration, on `signal` (SIGINT/SIGTERM to fdleak), or when every traced
 * task has exited. Memory: the tracker's open fds and distinct stacks; lines are not kept.
 */
import { readFileSync, realpathSync, statSync, accessSync, constants, openSync, readSync, closeSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { InputError } from '../../errors.js';
import { StraceReader } from '../../parse/strace.js';
import { CREATORS, FdTracker } from '../../trace/fd-tracker.js';
import type { EndState, TraceResult } from '../../trace/result.js';
import { buildTraceResult, isSystemObject } from '../../trace/result.js';
import { collectLiveProcess } from '../diagnose.js';
import { resolveSourceLines } from './addr2line.js';
import { checkAttachable, findTools, startStrace, type StraceTarget } from './strace.js';

export interface TraceOptions {
  /** Window length; undefined: until the launched command exits (or a signal). */
  durationMs?: number;
  /** Aborted on SIGINT/SIGTERM: the window ends, the tracee is detached, the report is made. */
  signal?: AbortSignal;
  /** Groups shown. */
  top?: number;
  /** Called with the tracker's held fd count every second (tests of bounded memory, --debug). */
  onTick?: (stats: { events: number; heldFds: number }) => void;
}

/** /proc/<tid>/status Tgid: the process a task belongs to (itself when unreadable). */
function tgidOf(tid: number): number {
  try {
    const m = /^Tgid:\s*(\d+)/m.exec(readFileSync(`/proc/${tid}/status`, 'utf8'));
    return m === null ? tid : Number(m[1]);
  } catch {
    return tid;
  }
}

/** The program a launch runs, as an absolute path (PATH searched here, not by strace); InputError if none. */
export function resolveCommand(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const candidates = name.includes('/') ? [resolve(name)] : (env.PATH ?? '/usr/bin:/bin').split(delimiter).filter((d) => isAbsolute(d)).map((d) => join(d, name));
  for (const c of candidates) {
    try {
      if (!statSync(c).isFile()) continue;
      accessSync(c, constants.X_OK);
      return c;
    } catch { /* next */ }
  }
  throw new InputError(`command not found or not executable: ${name}`, { source: 'trace --' });
}

/** "#!/usr/bin/env bash" scripts under a shims/ directory (pyenv, rbenv): the trace would be the shell's. */
function shimWarning(path: string): string | null {
  if (!/\/shims\//.test(path)) return null;
  const buf = Buffer.alloc(64);
  let n = 0;
  try {
    const fd = openSync(realpathSync(path), 'r');
    n = readSync(fd, buf, 0, 64, 0);
    closeSync(fd);
  } catch { return null; }
  return buf.toString('latin1', 0, n).startsWith('#!')
    ? `${path} is a version-manager shim (a shell script): the trace starts in the shell; give the interpreter's real path (e.g. \`pyenv which python3\`)`
    : null;
}

/** Runs the whole trace and returns the result (InputError when strace is unusable or ptrace refused). */
export async function collectTrace(target: StraceTarget, options: TraceOptions = {}): Promise<TraceResult> {
  const warnings: string[] = [];
  const launch = 'argv' in target;
  if (!launch) checkAttachable(target.pid);
  const tools = await findTools();
  if (tools.setpriv === undefined) warnings.push('setpriv (util-linux) not found: if fdleak is killed with SIGKILL, strace stays attached until its FIFO write fails');
  let argv: string[] | null = null;
  if (launch) {
    argv = [resolveCommand(target.argv[0]!), ...target.argv.slice(1)];
    const shim = shimWarning(argv[0]!);
    if (shim !== null) warnings.push(shim);
  }

  const tracker = new FdTracker(tgidOf);
  let firstTid: number | null = null;
  const reader = new StraceReader((event) => {
    firstTid ??= event.tid;
    tracker.apply(event);
  }, (name) => CREATORS.has(name));
  const handle = await startStrace(launch ? { argv: argv! } : target, tools, (line) => reader.push(line), { signal: options.signal });
  await Promise.race([handle.ready, handle.done]);
  const started = new Date();
  let endedBy: TraceResult['window']['endedBy'] = 'exit';
  const timer = options.durationMs === undefined ? undefined : setTimeout(() => {
    endedBy = 'duration';
    void handle.stop();
  }, options.durationMs);
  const onAbort = (): void => { if (endedBy === 'exit') endedBy = 'signal'; };
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const ticker = options.onTick === undefined ? undefined : setInterval(() => options.onTick!({ events: tracker.events, heldFds: tracker.heldFds() }), 1000);
  try {
    await handle.done;
  } finally {
    clearTimeout(timer);
    clearInterval(ticker);
    options.signal?.removeEventListener('abort', onAbort);
  }
  reader.end();
  const ended = new Date();
  if (reader.unknownLines > 0) warnings.push(`${reader.unknownLines} lines of strace output were not understood and were skipped`);

  // The end state of every traced process that is still there and holds fds opened in the window.
  const end = new Map<number, EndState>();
  const holders = new Set<number>();
  for (const { tgid } of tracker.openFds()) holders.add(tgid);
  for (const p of tracker.processes.values()) {
    if (p.exited) continue;
    if (!holders.has(p.tgid)) {
      try { statSync(`/proc/${p.tgid}`); end.set(p.tgid, { command: commOf(p.tgid), fds: new Map(), sockets: new Map() }); } catch { /* gone */ }
      continue;
    }
    try {
      const snap = await collectLiveProcess(p.tgid, { backlog: false });
      const fds = new Map(snap.fds.map((f) => [f.fd, { kind: f.kind, inode: f.inode }]));
      const sockets = new Map<string, { state: string | null; local: string | null; remote: string | null }>();
      for (const s of snap.sockets) {
        if (s.inode === null) continue;
        sockets.set(s.inode, { state: s.state ?? s.detail, local: endpointText(s.local), remote: endpointText(s.remote) });
      }
      end.set(p.tgid, { command: snap.processes[0]?.command ?? null, fds, sockets });
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      // Gone between the end of the trace and this read: its fds went with it.
    }
  }
  if (launch && endedBy !== 'exit') {
    // We started them: they end with the window (after their fds were read), like `timeout` does.
    for (const pid of end.keys()) { try { process.kill(pid, 'SIGTERM'); } catch { /* gone */ } }
  }

  const window: TraceResult['window'] = {
    mode: launch ? 'launch' : 'attach',
    pid: launch ? firstTid : (target as { pid: number }).pid,
    command: argv,
    startedAt: started.toISOString(),
    endedAt: ended.toISOString(),
    durationMs: ended.getTime() - started.getTime(),
    endedBy,
  };
  const draft = buildTraceResult({ tracker, window, lines: new Map(), end, warnings, top: options.top });
  const own = [...draft.leaks, ...draft.churn].flatMap((g) => g.frames)
    .filter((f): f is typeof f & { address: string } => f.address !== null && !isSystemObject(f.object));
  const lines = await resolveSourceLines(own, (w) => warnings.push(w));
  return buildTraceResult({ tracker, window, lines, end, warnings, top: options.top });
}

/** "127.0.0.1:80", "[::1]:80", "/run/x.sock"; null for none or a wildcard peer (port 0). */
function endpointText(e: { address: string; port: number | null } | null): string | null {
  if (e === null) return null;
  if (e.port === null) return e.address === '' ? null : e.address;
  if (e.port === 0) return null;
  return e.address.includes(':') ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`;
}

function commOf(pid: number): string | null {
  try { return readFileSync(`/proc/${pid}/comm`, 'utf8').trimEnd(); } catch { return null; }
}
