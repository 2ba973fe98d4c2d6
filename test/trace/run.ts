/**
 * Helpers of the `fdleak trace` tests: build the C programs of test/trace/programs with gcc -g
 * (absolute path), and run the CLI as a user does (`node bin/fdleak.js`, env reduced to PATH and
 * NO_COLOR=1) while watching its stderr line by line (a launched program's output arrives there).
 * fdleak runs in a network namespace of its own when root may create one (`unshare -n`, lo up),
 * so the programs it launches talk over a private loopback.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT } from '../helpers/cli.js';
import { netnsSupport } from '../helpers/netns.js';

export const PROGRAMS = fileURLToPath(new URL('./programs/', import.meta.url));
const built = new Map<string, string>();
const dirs: string[] = [];

/** Why the trace tests cannot run here, or null (strace with -k, gcc, addr2line are needed; .ci/tools.sh installs them). */
export function missingTools(): string | null {
  for (const tool of ['/usr/bin/strace', '/usr/bin/gcc', '/usr/bin/addr2line']) if (!existsSync(tool)) return `${tool} not installed (run .ci/tools.sh)`;
  const k = spawnSync('/usr/bin/strace', ['-k', '-qq', '-e', 'trace=none', '-o', '/dev/null', '--', '/bin/true'], { encoding: 'utf8', timeout: 20_000 });
  return k.status === 0 ? null : `strace has no -k: ${k.stderr.trim()}`;
}

/** Compiles programs/<name>.c with -g -O0 into a temp dir (once per test file); returns the binary's path. */
export function buildProgram(name: string, extra: string[] = []): string {
  const hit = built.get(name);
  if (hit !== undefined) return hit;
  const dir = mkdtempSync(join(tmpdir(), 'fdleak-trace-prog-'));
  dirs.push(dir);
  const out = join(dir, name);
  const r = spawnSync('/usr/bin/gcc', ['-g', '-O0', '-o', out, join(PROGRAMS, `${name}.c`), ...extra], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`gcc ${name}.c: ${r.stderr}`);
  built.set(name, out);
  return out;
}

/** Removes the built programs (afterAll). */
export function cleanPrograms(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  built.clear();
}

/** 1-based line of the first line of `programs/<file>` that contains `needle` after the line containing `after`. */
export function sourceLine(file: string, after: string, needle: string): number {
  const lines = readFileSync(join(PROGRAMS, file), 'utf8').split('\n');
  const from = lines.findIndex((l) => l.includes(after));
  const i = lines.findIndex((l, k) => k > from && l.includes(needle));
  if (from < 0 || i < 0) throw new Error(`${needle} after ${after} not in ${file}`);
  return i + 1;
}

export interface Running {
  child: ChildProcess;
  /** Resolves with the first stderr line that is JSON with "ready" and passes `test`. */
  ready(test?: (r: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

const running = new Set<ChildProcess>();

/** Starts `node bin/fdleak.js ...args` (in a private network namespace when `isolate` and permitted). */
export function startFdleak(args: string[], isolate = true, timeoutMs = 60_000): Running {
  const prefix = isolate && netnsSupport().ok ? ['unshare', '-n', '--', 'sh', '-c', 'ip link set lo up && exec "$@"', 'sh'] : [];
  const argv = [...prefix, process.execPath, 'bin/fdleak.js', ...args];
  // `exec` keeps one pid: the child is node itself, so signals sent to it reach fdleak.
  const child = spawn(argv[0]!, argv.slice(1), { cwd: ROOT, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let stdout = '';
  let stderr = '';
  const waiters: Array<() => void> = [];
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; for (const w of waiters) w(); });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) => {
    child.once('close', (code, signal) => { clearTimeout(timer); running.delete(child); for (const w of waiters) w(); resolve({ code, signal, stdout, stderr }); });
  });
  const ready = (test: (r: Record<string, unknown>) => boolean = () => true, wait = 30_000): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const deadline = setTimeout(() => reject(new Error(`no ready line in ${wait} ms; stderr: ${stderr.slice(-500)}`)), wait);
      const check = (): void => {
        for (const line of stderr.split('\n')) {
          if (!line.startsWith('{') || !line.includes('"ready"')) continue;
          const r = JSON.parse(line) as Record<string, unknown>;
          if (test(r)) { clearTimeout(deadline); resolve(r); return; }
        }
        if (child.exitCode !== null || child.signalCode !== null) { clearTimeout(deadline); reject(new Error(`fdleak ended before the ready line: ${stderr.slice(-500)}`)); }
      };
      waiters.push(check);
      check();
    });
  return { child, ready, done };
}

/** Kills every fdleak still running and the programs whose pids are given (afterEach/afterAll). */
export function killAll(pids: Iterable<number> = []): void {
  for (const c of running) c.kill('SIGKILL');
  for (const pid of pids) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
}

/** Link targets of /proc/<pid>/fd, counted by a predicate. */
export function countFds(targets: Map<number, string>, test: (target: string) => boolean): number {
  let n = 0;
  for (const t of targets.values()) if (test(t)) n++;
  return n;
}
