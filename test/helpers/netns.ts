/**
 * Starts a leaker (test/helpers/leakers/*) as a scenario: in its own network namespace when root
 * may create one (`unshare -n`, loopback up, per-namespace sysctls such as a shrunken
 * ip_local_port_range), else in the host namespace (the reason is printed once). Every process of
 * a scenario (the leaker and what it forks) shares the namespace and the process group, so one
 * group kill ends them all; leakers also exit by themselves after 60 s.
 *
 * The leaker's stdout/stderr go to files, not pipes: Node's spawn gives a child AF_UNIX socketpairs
 * as stdio, and sockets created in the host namespace have no row in the scenario namespace's
 * tables (fdleak would rightly call them orphans). For the same reason a small wrapper closes every
 * inherited fd above 2 before exec'ing the leaker.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, closeSync, rmSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const LEAKERS = fileURLToPath(new URL('./leakers/', import.meta.url));
/** Leakers run from the project root with a relative path, so captured cmdlines hold no local paths. */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface Scenario {
  /** The leaker's pid (what `fdleak diagnose` is pointed at). */
  pid: number;
  /** Its ready line. */
  ready: Record<string, unknown>;
  /** True when it runs in its own network namespace. */
  isolated: boolean;
  /** "net:[4026532258]" of the scenario. */
  netns: string;
  /** Kills the whole process group and waits for the leader to go. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Run in a private network namespace when permitted (default true). */
  isolate?: boolean;
  /** Per-namespace sysctls to write inside the private namespace, e.g. { 'net/ipv4/tcp_tw_reuse': '0' }. */
  sysctls?: Record<string, string>;
  readyTimeoutMs?: number;
}

// Closes every inherited fd above 2, then execs argv[1:] (same pid).
const CLEAN_EXEC = 'import os,sys; os.closerange(3, 1 << 16); os.execvp(sys.argv[1], sys.argv[1:])';

let support: { ok: true } | { ok: false; reason: string } | undefined;
let reported = false;

/**
 * Can this process create a network namespace with loopback up? Checked once.
 * FDLEAK_TEST_NO_NETNS=1 forces the host-namespace fallback (to test the tests).
 */
export function netnsSupport(): { ok: true } | { ok: false; reason: string } {
  if (support !== undefined) return support;
  if (process.env.FDLEAK_TEST_NO_NETNS === '1') return (support = { ok: false, reason: 'FDLEAK_TEST_NO_NETNS=1' });
  const r = spawnSync('unshare', ['-n', 'sh', '-c', 'ip link set lo up && cat /proc/sys/net/ipv4/ip_local_port_range'], { encoding: 'utf8', timeout: 5000 });
  support = r.status === 0
    ? { ok: true }
    : { ok: false, reason: `unshare -n not permitted (${(r.error?.message ?? r.stderr ?? '').trim().split('\n')[0] || `exit ${r.status}`})` };
  return support;
}

let python: string | undefined;

/** The real python3 binary (not a pyenv shim: one exec less, same pid either way). */
export function pythonPath(): string {
  if (python !== undefined) return python;
  const r = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8', timeout: 10_000 });
  python = r.status === 0 && r.stdout.trim() !== '' ? r.stdout.trim() : 'python3';
  return python;
}

const running = new Set<Scenario>();

/** Starts `leakers/<file>` with args and waits for its {"ready": true} line. */
export async function startScenario(file: string, args: string[] = [], options: StartOptions = {}): Promise<Scenario> {
  const wantIsolation = options.isolate ?? true;
  const ns = netnsSupport();
  const isolated = wantIsolation && ns.ok;
  if (wantIsolation && !ns.ok && !reported) {
    reported = true;
    console.warn(`fdleak live tests: running scenarios in the host network namespace: ${ns.reason}`);
  }
  const python = pythonPath();
  const interpreter = file.endsWith('.py') ? python : process.execPath;
  const argv = [python, '-c', CLEAN_EXEC, interpreter, relative(ROOT, join(LEAKERS, file)), ...args];
  const dir = mkdtempSync(join(tmpdir(), 'fdleak-leaker-'));
  const out = openSync(join(dir, 'stdout'), 'w');
  const err = openSync(join(dir, 'stderr'), 'w');
  let child: ChildProcess;
  try {
    if (isolated) {
      const sysctls = Object.entries(options.sysctls ?? {}).map(([k, v]) => `echo '${v}' > /proc/sys/${k} && `).join('');
      child = spawn('unshare', ['-n', '--', 'sh', '-c', `ip link set lo up && ${sysctls}exec "$@"`, 'sh', ...argv],
        { cwd: ROOT, detached: true, stdio: ['ignore', out, err], env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
    } else {
      child = spawn(argv[0]!, argv.slice(1), { cwd: ROOT, detached: true, stdio: ['ignore', out, err], env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
    }
  } finally {
    closeSync(out);
    closeSync(err);
  }
  let exited: number | null | undefined;
  const exit = new Promise<void>((resolve) => child.once('exit', (code) => { exited = code; resolve(); }));
  child.once('error', () => { exited = -1; });

  const stop = async (): Promise<void> => {
    running.delete(scenario);
    if (child.pid !== undefined) {
      // The whole group, even when the leader is gone: what it forked may still be there.
      try { process.kill(-child.pid, 'SIGKILL'); } catch { /* already gone */ }
      if (exited === undefined) await Promise.race([exit, new Promise((r) => setTimeout(r, 3000))]);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const scenario: Scenario = { pid: 0, ready: {}, isolated, netns: '', stop };
  running.add(scenario);

  const deadline = Date.now() + (options.readyTimeoutMs ?? 20_000);
  for (;;) {
    const text = readFileSync(join(dir, 'stdout'), 'utf8');
    // Complete lines only: the ready line may be caught half written.
    const line = text.slice(0, text.lastIndexOf('\n') + 1).split('\n').find((l) => l.startsWith('{') && l.includes('"ready"'));
    if (line !== undefined) {
      scenario.ready = JSON.parse(line) as Record<string, unknown>;
      scenario.pid = Number(scenario.ready.pid);
      scenario.netns = readlinkSync(`/proc/${scenario.pid}/ns/net`);
      return scenario;
    }
    if (exited !== undefined || Date.now() > deadline) {
      const stderr = readFileSync(join(dir, 'stderr'), 'utf8').trim();
      await stop();
      throw new Error(`leaker ${file} ${exited === undefined ? 'not ready in time' : `exited (${exited})`}${stderr === '' ? '' : `: ${stderr.slice(-500)}`}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Stops every scenario still running (afterAll). */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((s) => s.stop()));
}

/** Runs a command inside the network namespace of `pid` (plain, when that is our own). */
export function inNetns(pid: number, cmd: string, args: string[]): string {
  const own = readlinkSync('/proc/self/ns/net') === readlinkSync(`/proc/${pid}/ns/net`);
  const [c, a] = own ? [cmd, args] : ['nsenter', [`--net=/proc/${pid}/ns/net`, cmd, ...args]];
  const r = spawnSync(c, a, { encoding: 'utf8', timeout: 10_000, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${c} ${a.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** Whether lsof runs here (a test that captures with it skips, saying so, where it does not). */
export function hasLsof(): boolean {
  return spawnSync('lsof', ['-v'], { encoding: 'utf8' }).error === undefined;
}

/**
 * The socket mix (leakers/socket-mix.py: a process and its forked child, which shares every socket)
 * after 300 ms for the FINs on loopback to settle (CLOSE_WAIT and FIN_WAIT2), and `lsof -nP -p
 * PID,CHILD` of both taken in its network namespace.
 */
export async function lsofOfSocketMix(): Promise<{ mix: Scenario; child: number; text: string }> {
  const mix = await startScenario('socket-mix.py');
  const child = Number(mix.ready.child);
  await new Promise((r) => setTimeout(r, 300));
  return { mix, child, text: inNetns(mix.pid, 'lsof', ['-nP', '-p', `${mix.pid},${child}`]) };
}
