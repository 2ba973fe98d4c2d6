/**
 * The `fdleak/trace@1` document: fds opened in the window and not closed (still open at its end,
 * or held until their process exited), grouped by the stack that opened them and ranked by count,
 * with the churn (opened and closed in the window) beside them, and the socket states read from
 * /proc at the end. Pure: the tracker, resolved source lines and the end snapshot in; plain data out.
 */
import type { FdKind } from '../model/fd.js';
import { parseFrame } from '../parse/strace.js';
import type { FdTracker, StackRecord } from './fd-tracker.js';
import { plural } from './fd-kind.js';
import { runtimeOf, type Runtime } from './runtimes.js';

export interface FrameOut {
  object: string;
  symbol: string | null;
  address: string | null;
  /** From addr2line when the object has debug info. */
  function: string | null;
  file: string | null;
  line: number | null;
}

export interface TargetOut {
  kind: FdKind;
  label: string;
  target: string;
  count: number;
  /** TCP state (or unix/udp detail) -> count, for the fds still open at the end. */
  states: Record<string, number>;
  /** Socket fds still open with no row in their namespace's tables. */
  orphans: number;
}

export interface LeakGroup {
  stackId: number;
  /** open + heldToExit: what the ranking uses. */
  count: number;
  /** Still open at the end of the window in a live process. */
  open: number;
  /** Never closed by the program; released only when its process exited. */
  heldToExit: number;
  summary: string;
  frames: FrameOut[];
  /** Index in frames of the program's own innermost frame (not libc, not a runtime); null when none. */
  ownFrame: number | null;
  runtime: Runtime | null;
  processes: Array<{ pid: number; open: number; heldToExit: number }>;
  targets: TargetOut[];
  churn: { opened: number; closed: number };
}

export interface ChurnGroup {
  stackId: number;
  frames: FrameOut[];
  ownFrame: number | null;
  opened: number;
  closed: number;
}

export interface TraceResult {
  schema: 'fdleak/trace@1';
  window: {
    mode: 'attach' | 'launch';
    pid: number | null;
    command: string[] | null;
    startedAt: string;
    endedAt: string;
    durationMs: number;
    endedBy: 'duration' | 'signal' | 'exit';
  };
  processes: Array<{ pid: number; parent: number | null; command: string | null; exited: boolean }>;
  totals: { opened: number; closed: number; open: number; heldToExit: number; stacks: number; events: number; limitErrors: number };
  leaks: LeakGroup[];
  churn: ChurnGroup[];
  runtimes: Array<{ runtime: Runtime; advice: string }>;
  warnings: string[];
}

/** What /proc said at the end about one process's fds: fd -> inode and kind; inode -> socket row. */
export interface EndState {
  command: string | null;
  fds: Map<number, { kind: FdKind; inode: string | null }>;
  sockets: Map<string, { state: string | null; local: string | null; remote: string | null }>;
}

export interface ResultInput {
  tracker: FdTracker;
  window: TraceResult['window'];
  /** `${object}\0${address}` -> source line (addr2line). */
  lines: Map<string, { function: string | null; file: string | null; line: number | null }>;
  /** Processes alive at the end, by tgid (absent: exited; unreadable ones have empty maps). */
  end: Map<number, EndState>;
  warnings: string[];
  /** Groups shown (both lists); the totals count everything. */
  top?: number;
}

/** Assembles the document. */
export function buildTraceResult(input: ResultInput): TraceResult {
  const { tracker, end } = input;
  const top = input.top ?? 20;
  interface Acc { stack: StackRecord; open: number; held: number; procs: Map<number, { open: number; held: number }>; targets: Map<string, TargetOut> }
  const acc = new Map<StackRecord, Acc>();
  const accOf = (s: StackRecord): Acc => {
    let a = acc.get(s);
    if (a === undefined) acc.set(s, (a = { stack: s, open: 0, held: 0, procs: new Map(), targets: new Map() }));
    return a;
  };
  const procOf = (a: Acc, pid: number): { open: number; held: number } => {
    let p = a.procs.get(pid);
    if (p === undefined) a.procs.set(pid, (p = { open: 0, held: 0 }));
    return p;
  };
  const targetOf = (a: Acc, kind: FdKind, label: string, target: string): TargetOut => {
    const key = `${label}\0${target}`;
    let t = a.targets.get(key);
    if (t === undefined) a.targets.set(key, (t = { kind, label, target, count: 0, states: {}, orphans: 0 }));
    return t;
  };

  for (const { tgid, fd, open: o } of tracker.openFds()) {
    const live = end.get(tgid);
    const a = accOf(o.stack);
    if (live === undefined) {
      // Gone without an exit line we saw: its fds went with it.
      a.held++;
      procOf(a, tgid).held++;
      targetOf(a, o.what.kind, o.what.label, o.target).count++;
      continue;
    }
    a.open++;
    procOf(a, tgid).open++;
    let target = o.target;
    const now = live?.fds.get(fd);
    const row = now?.inode == null ? undefined : live!.sockets.get(now.inode);
    if (target === 'accepted' && row?.local != null) target = `accepted on ${row.local}`;
    else if (target === '' && row !== undefined) target = row.remote !== null ? `to ${row.remote}` : row.local !== null ? `on ${row.local}` : '';
    const t = targetOf(a, o.what.kind, o.what.label, target);
    t.count++;
    if (now !== undefined && now.kind === 'socket' && o.what.kind === 'socket') {
      if (row === undefined) t.orphans++;
      else if (row.state !== null) t.states[row.state] = (t.states[row.state] ?? 0) + 1;
    }
  }
  let heldToExit = 0;
  let opened = 0;
  let closed = 0;
  for (const s of tracker.stackRecords()) {
    opened += s.opened;
    closed += s.closed;
    for (const [key, n] of s.heldToExit) {
      const [tgid, label, target] = key.split('\0') as [string, string, string];
      const a = accOf(s);
      a.held += n;
      procOf(a, Number(tgid)).held += n;
      heldToExit += n;
      targetOf(a, kindOfLabel(label), label, target).count += n;
    }
  }

  const framesOf = (s: StackRecord): { frames: FrameOut[]; ownFrame: number | null; runtime: Runtime | null } => {
    const frames = s.frames.map((text) => {
      const f = parseFrame(text);
      const src = f.address === null ? undefined : input.lines.get(`${f.object}\0${f.address}`);
      return { ...f, function: src?.function ?? null, file: src?.file ?? null, line: src?.line ?? null };
    });
    const runtime = runtimeOf(frames.map((f) => f.object));
    const own = frames.findIndex((f) => !isSystemObject(f.object) && runtimeOf([f.object]) === null);
    return { frames, ownFrame: own < 0 ? null : own, runtime };
  };

  const leaks: LeakGroup[] = [...acc.values()]
    .map((a) => {
      const targets = [...a.targets.values()].sort((x, y) => y.count - x.count || x.target.localeCompare(y.target));
      return {
        stackId: a.stack.id,
        count: a.open + a.held, open: a.open, heldToExit: a.held,
        summary: summaryOf(targets),
        ...framesOf(a.stack),
        processes: [...a.procs].map(([pid, p]) => ({ pid, open: p.open, heldToExit: p.held })).sort((x, y) => y.open + y.heldToExit - x.open - x.heldToExit || x.pid - y.pid),
        targets: targets.slice(0, 10),
        churn: { opened: a.stack.opened, closed: a.stack.closed },
      };
    })
    .sort((x, y) => y.count - x.count || x.stackId - y.stackId);
  const churn: ChurnGroup[] = [...tracker.stackRecords()]
    .filter((s) => s.closed > 0 && !acc.has(s))
    .sort((x, y) => y.opened - x.opened || x.id - y.id)
    .slice(0, top)
    .map((s) => {
      const { frames, ownFrame } = framesOf(s);
      return { stackId: s.id, frames, ownFrame, opened: s.opened, closed: s.closed };
    });
  const runtimes = [...new Set(leaks.map((g) => g.runtime).filter((r): r is Runtime => r !== null))]
    .map((runtime) => ({ runtime, advice: RUNTIME_ADVICE[runtime] }));

  return {
    schema: 'fdleak/trace@1',
    window: input.window,
    processes: [...tracker.processes.values()]
      .map((p) => ({ pid: p.tgid, parent: p.parent, command: end.get(p.tgid)?.command ?? p.execs.at(-1) ?? null, exited: p.exited || !end.has(p.tgid) }))
      .sort((a, b) => a.pid - b.pid),
    totals: { opened, closed, open: leaks.reduce((n, g) => n + g.open, 0), heldToExit, stacks: countStacks(tracker), events: tracker.events, limitErrors: tracker.limitErrors },
    leaks: leaks.slice(0, top),
    churn,
    runtimes,
    warnings: input.warnings,
  };
}

function countStacks(tracker: FdTracker): number {
  let n = 0;
  for (const _ of tracker.stackRecords()) n++;
  return n;
}

/** "412 TCP sockets to 127.0.0.1:3306" (+ ", and 3 more to 2 other targets"). */
function summaryOf(targets: readonly TargetOut[]): string {
  const first = targets[0];
  if (first === undefined) return '';
  const head = `${first.count} ${plural(first.label, first.count)}${first.target === '' ? '' : ` ${first.target}`}`;
  const rest = targets.slice(1).reduce((n, t) => n + t.count, 0);
  return rest === 0 ? head : `${head}, and ${rest} more to ${targets.length - 1} other target${targets.length === 2 ? '' : 's'}`;
}

function kindOfLabel(label: string): FdKind {
  if (label.endsWith('socket')) return 'socket';
  if (label === 'pipe') return 'pipe';
  if (label === 'file' || label === 'memfd' || label === 'device') return 'file';
  if (label === 'fd') return 'other';
  return 'anon_inode';
}

/** Shared libraries of the system (libc, the loader, libstdc++...) and the vDSO: never "the program's own" frame. */
export function isSystemObject(object: string): boolean {
  return /^\/(usr\/)?(lib|lib32|lib64|libx32)\//.test(object) || object.includes('vdso') || !object.startsWith('/');
}

const RUNTIME_ADVICE: Record<Runtime, string> = {
  python: 'the native stacks are the CPython interpreter\'s, not your Python code: run it with `python3 -X tracemalloc=25 -W always::ResourceWarning` to get the Python traceback where each unclosed socket or file was created',
  node: 'the native stacks are Node\'s (V8/libuv), not your JavaScript: `process.getActiveResourcesInfo()` or the why-is-node-running package shows which handles keep the process busy and where they were made',
  java: 'the native stacks are the JVM\'s, not your Java code: file-leak-detector (-javaagent:file-leak-detector.jar) records the Java stack where each file and socket was opened',
  ruby: 'the native stacks are the Ruby VM\'s, not your Ruby code: `ObjectSpace.trace_object_allocations_start` then `ObjectSpace.allocation_sourcefile(io)` for each `ObjectSpace.each_object(IO)` shows where each IO was created',
  php: 'the native stacks are the PHP engine\'s, not your PHP code: Xdebug\'s function trace (xdebug.mode=trace) shows the PHP call that opened each resource',
};
