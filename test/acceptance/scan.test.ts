/**
 * `fdleak scan` against real processes: a leaky one among healthy ones, an unprivileged scanner,
 * a process in another network namespace, and process churn. Children are forked by one python3
 * holder in its own process group, die with it (PR_SET_PDEATHSIG) and are killed after the tests.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanProcesses } from '../../src/live/scan.js';
import { startScanHelper } from '../../src/live/threads/scan-helper.js';

const BIN = fileURLToPath(new URL('../../bin/fdleak.js', import.meta.url));
/** The helper thread's body as `npm run build` bundles it (npm test builds first). */
const SCAN_WORKER = new URL('../../dist/cli/scan-worker.js', import.meta.url);
const ENV = { PATH: process.env.PATH ?? '/usr/bin:/bin', NO_COLOR: '1' };
const TABLES = ['tcp', 'tcp6', 'udp', 'udp6', 'udplite', 'udplite6', 'raw', 'raw6', 'icmp', 'icmp6', 'unix', 'netlink', 'packet'];

const HOLDER = String.raw`
import ctypes, json, os, signal, socket, subprocess, sys, time
libc = ctypes.CDLL(None, use_errno=True)
def child(role, ready):
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    null = os.open('/dev/null', os.O_RDWR)
    for fd in (0, 1, 2): os.dup2(null, fd)
    for fd in [int(n) for n in os.listdir('/proc/self/fd')]:
        if fd > 2 and fd != ready:
            try: os.close(fd)
            except OSError: pass
    libc.prctl(15, ctypes.c_char_p(('fdl-' + role).encode()), 0, 0, 0)  # PR_SET_NAME
    keep, note = [], b'ok'
    def connections(n):
        srv = socket.socket(); srv.bind(('127.0.0.1', 0)); srv.listen(16); keep.append(srv)
        for _ in range(n):
            cli = socket.create_connection(srv.getsockname()); acc, _ = srv.accept(); keep.extend([cli, acc])
    if role == 'leaky':
        keep.extend(socket.socket() for _ in range(300))   # never bound: orphans
        connections(5)
    elif role == 'healthy':
        keep.extend([*os.pipe(), *socket.socketpair()])
    elif role == 'netns':
        if libc.unshare(0x40000000) != 0:  # CLONE_NEWNET
            note = ('unshare -n: ' + os.strerror(ctypes.get_errno())).encode()
        else:
            subprocess.run(['ip', 'link', 'set', 'lo', 'up'], check=True)
            connections(3)
            keep.extend(socket.socket() for _ in range(4))
            # One TIME_WAIT row (the side that closes first keeps it, 60 s): with no IPv6 socket
            # here, sockstat lets scan skip tcp6, and this says it counted every row anyway.
            srv = socket.socket(); srv.bind(('127.0.0.1', 0)); srv.listen(1)
            cli = socket.create_connection(srv.getsockname()); acc, _ = srv.accept()
            cli.close(); acc.recv(1); acc.close(); srv.close()  # FIN seen before ours: 1 TIME_WAIT, not 2
    os.write(ready, note)
    while True: time.sleep(60)
out = {'healthy': []}
for role in ['leaky'] + ['healthy'] * 20 + ['netns']:
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r); child(role, w)
    os.close(w)
    note = os.read(r, 200).decode(); os.close(r)
    if role == 'healthy': out['healthy'].append(pid)
    else: out[role] = pid; out[role + 'Note'] = note
print(json.dumps(out), flush=True)
sys.stdin.read()
`;

interface Held { leaky: number; healthy: number[]; netns: number; netnsNote: string }
interface Row { pid: number; command: string; fds: number; sockets: number | null; orphanSockets: number | null; fdLimit: number | string | null; limitUsed: number | null }
interface ScanDoc { schema: string; processes: Row[]; skipped: { permission: number; vanished: number }; skippedProcesses: { permission: Array<{ pid: number }> } }

let holder: ChildProcess;
let held: Held;

beforeAll(async () => {
  holder = spawn('python3', ['-c', HOLDER], { detached: true, stdio: ['pipe', 'pipe', 'inherit'], env: ENV });
  held = await new Promise<Held>((resolve, reject) => {
    let text = '';
    holder.stdout!.on('data', (d: Buffer) => {
      text += d.toString();
      if (text.includes('\n')) resolve(JSON.parse(text) as Held);
    });
    holder.once('exit', (code) => reject(new Error(`holder exited with ${code}`)));
  });
});

afterAll(() => {
  if (holder?.pid !== undefined) {
    try {
      process.kill(-holder.pid, 'SIGKILL'); // the whole group: holder and children
    } catch { /* already gone */ }
  }
});

/** What /proc says about a process, read independently of fdleak (plain string splitting). */
function fromProc(pid: number, netOf = pid): { fds: number; sockets: number; orphanSockets: number } {
  const dir = `/proc/${pid}/fd`;
  const names = readdirSync(dir);
  const inodes = names.map((n) => readlinkSync(`${dir}/${n}`)).filter((t) => t.startsWith('socket:[')).map((t) => t.slice(8, -1));
  const known = new Set<string>();
  for (const table of TABLES) {
    let text: string;
    try {
      text = readFileSync(`/proc/${netOf}/net/${table}`, 'latin1');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 2) continue;
      known.add(table === 'unix' ? cols[6]! : table === 'netlink' || table === 'packet' ? cols[cols.length - 1]! : cols[9]!);
    }
  }
  return { fds: names.length, sockets: inodes.length, orphanSockets: inodes.filter((i) => !known.has(i)).length };
}

function fdleak(args: string[], asNobody = false): { status: number | null; stdout: string; stderr: string } {
  const [cmd, argv] = asNobody
    ? ['setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, BIN, ...args]]
    : [process.execPath, [BIN, ...args]];
  const r = spawnSync(cmd as string, argv as string[], { env: ENV, encoding: 'utf8', maxBuffer: 64 << 20, timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function scanJson(asNobody = false): ScanDoc {
  const r = fdleak(['scan', '--json'], asNobody);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout) as ScanDoc;
}

const pick = ({ fds, sockets, orphanSockets }: Row): object => ({ fds, sockets, orphanSockets });

describe('fdleak scan, live', () => {
  it('ranks the leaking process above 20 healthy ones, with the numbers /proc gives', () => {
    const before = fromProc(held.leaky);
    const doc = scanJson();
    expect(fromProc(held.leaky)).toEqual(before); // the process did not change under the scan
    expect(doc.schema).toBe('fdleak/scan@1');
    const pids = doc.processes.map((p) => p.pid);
    const at = pids.indexOf(held.leaky);
    expect(at).toBeGreaterThanOrEqual(0);
    for (const pid of held.healthy) expect(pids.indexOf(pid)).toBeGreaterThan(at);
    const fds = doc.processes.map((p) => p.fds);
    expect(fds).toEqual([...fds].sort((a, b) => b - a)); // the contract: fds descending by default
    const leaky = doc.processes[at]!;
    expect(pick(leaky)).toEqual(before);
    expect(before).toMatchObject({ sockets: 311, orphanSockets: 300 });
    expect(leaky.command).toBe('fdl-leaky');
    for (const pid of held.healthy) expect(pick(doc.processes.find((p) => p.pid === pid)!)).toEqual(fromProc(pid));
  });

  it('shows the 20 healthy children as one row, below the leak', () => {
    const r = fdleak(['scan', '--top', '1000']);
    expect(r.status).toBe(0);
    const lines = r.stdout.split('\n');
    const leakyLine = lines.findIndex((l) => new RegExp(`^\\s*${held.leaky}\\s+fdl-leaky\\s`).test(l));
    // x20, or more when another run of this suite shares the machine: they all look alike.
    const group = lines.findIndex((l) => /\sfdl-healthy x(\d+)\s/.test(l) && Number(/x(\d+)/.exec(l)![1]) >= 20);
    expect(leakyLine).toBeGreaterThan(0);
    expect(group).toBeGreaterThan(leakyLine);
  });

  it('judges a process in another network namespace by its own tables', (ctx) => {
    if (held.netnsNote !== 'ok') ctx.skip(`cannot create a network namespace here: ${held.netnsNote}`);
    const expected = fromProc(held.netns);
    expect(expected).toMatchObject({ sockets: 11, orphanSockets: 4 }); // 7 in its tables, 4 never bound
    // Judged by the host's tables, all 11 would look orphaned: the test would catch that mistake.
    expect(fromProc(held.netns, process.pid).orphanSockets).toBe(11);
    const doc = scanJson();
    expect(pick(doc.processes.find((p) => p.pid === held.netns)!)).toEqual(expected);
  });

  it('summarises a namespace\'s TCP tables as they are, tcp6 skipped or not', (ctx) => {
    if (held.netnsNote !== 'ok') ctx.skip(`cannot create a network namespace here: ${held.netnsNote}`);
    const states: Record<string, number> = {};
    const names = ['ESTABLISHED', 'SYN_SENT', 'SYN_RECV', 'FIN_WAIT1', 'FIN_WAIT2', 'TIME_WAIT', 'CLOSE', 'CLOSE_WAIT', 'LAST_ACK', 'LISTEN', 'CLOSING', 'NEW_SYN_RECV'];
    let rows = 0;
    for (const table of ['tcp', 'tcp6']) {
      for (const line of readFileSync(`/proc/${held.netns}/net/${table}`, 'latin1').split('\n').slice(1)) {
        const cols = line.trim().split(/\s+/);
        if (cols.length < 4) continue;
        rows++;
        const name = names[parseInt(cols[3]!, 16) - 1]!;
        states[name] = (states[name] ?? 0) + 1;
      }
    }
    expect(states).toMatchObject({ ESTABLISHED: 6, LISTEN: 1, TIME_WAIT: 1 });
    const doc = scanJson() as ScanDoc & { host: { namespaces: Array<{ readVia: number | string | null; tcpByState: Record<string, number>; rows: Record<string, number> }> } };
    const ns = doc.host.namespaces.find((n) => n.readVia === held.netns)!;
    expect(ns.tcpByState).toEqual(states);
    expect(ns.rows.tcp).toBe(rows);
  });

  it('as an unprivileged user: kernel fd counts, sockets unknown, skipped for permission, exit 0', (ctx) => {
    if (process.getuid?.() !== 0) ctx.skip('needs root to switch to uid 65534 with setpriv');
    if (spawnSync('setpriv', ['--version']).status !== 0) ctx.skip('setpriv (util-linux) is not installed');
    const expected = fromProc(held.leaky);
    const doc = scanJson(true);
    const leaky = doc.processes.find((p) => p.pid === held.leaky)!;
    expect(leaky).toMatchObject({ fds: expected.fds, sockets: null, orphanSockets: null, fdLimit: expect.any(Number) });
    expect(doc.skipped.permission).toBeGreaterThanOrEqual(22);
    expect(doc.skippedProcesses.permission.map((p) => p.pid)).toEqual(expect.arrayContaining([held.leaky, ...held.healthy]));
    const table = fdleak(['scan', '--top', '3'], true);
    expect(table.status).toBe(0);
    expect(table.stdout).toMatch(/note: sockets and orphans unknown \("\?"\) for \d+ processes \(other users' processes; run as root to see them\)/);
  });

  it('survives processes exiting under it', async () => {
    const churn = spawn('python3', ['-c', 'import os,time\nend=time.time()+20\nwhile time.time()<end:\n    pid=os.fork()\n    if pid==0: os._exit(0)\n    os.waitpid(pid,0)'], { detached: true, stdio: 'ignore' });
    try {
      for (let i = 0; i < 4; i++) {
        const doc = scanJson();
        expect(doc.processes.length).toBeGreaterThan(20);
      }
    } finally {
      process.kill(-churn.pid!, 'SIGKILL');
    }
  });

  it('--prometheus ends with a newline and carries the leak', () => {
    const r = fdleak(['scan', '--prometheus']);
    expect(r.status).toBe(0);
    expect(r.stdout.endsWith('\n')).toBe(true);
    expect(r.stdout).toContain(`fdleak_process_orphan_sockets{pid="${held.leaky}",command="fdl-leaky"} 300\n`);
  });

  it.each([
    [['--top', '0'], 'fdleak: --top: expected a positive whole number, found "0"\n'],
    [['--top', 'ten'], 'fdleak: --top: expected a positive whole number, found "ten"\n'],
    [['--json', '--prometheus'], 'fdleak: scan: choose one of --json and --prometheus\n'],
  ])('rejects scan %j with exit 2 and one line', (args, stderr) => {
    const r = fdleak(['scan', ...args]);
    expect({ status: r.status, stderr: r.stderr, stdout: r.stdout }).toEqual({ status: 2, stderr, stdout: '' });
  });

  it('rejects an unknown --sort with exit 2 and no stack', () => {
    const r = fdleak(['scan', '--sort', 'size']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^fdleak: option '--sort <key>' argument 'size' is invalid\. Allowed choices are fds, sockets, orphans, headroom\./);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });

  it('gives the same numbers with the fd walk shared with a second thread, which takes its share', async () => {
    const helper = startScanHelper(SCAN_WORKER)!;
    expect(helper).toBeDefined();
    expect(await helper.ready()).toBe(true); // in the CLI it starts while the modules load; here, make sure it is up
    const ours = [held.leaky, ...held.healthy, ...(held.netnsNote === 'ok' ? [held.netns] : [])];
    const mine = (r: Awaited<ReturnType<typeof scanProcesses>>): unknown[] =>
      r.snapshot.processes.filter((p) => ours.includes(p.pid)).map((p) => [p.pid, p.fds, p.sockets, p.orphanSockets, p.unseen]);
    // Deterministic on a busy machine: the main thread takes no unit before the helper has taken one.
    const patient = {
      ...helper,
      share: (root: string, units: ReadonlyArray<{ pid: number; count: number }>) => {
        const walk = helper.share(root, units)!;
        const nap = new Int32Array(new SharedArrayBuffer(4));
        const until = Date.now() + 5000;
        return { ...walk, claim: () => { while (walk.claimed() === 0 && Date.now() < until) Atomics.wait(nap, 0, 0, 2); return walk.claim(); } };
      },
    };
    const shared = await scanProcesses({ excludePids: [process.pid], helper: patient });
    const alone = await scanProcesses({ excludePids: [process.pid] });
    expect(shared.timings.helped).toBeGreaterThan(0);
    expect(alone.timings.helped).toBe(0);
    expect(mine(shared)).toHaveLength(ours.length);
    expect(mine(shared)).toEqual(mine(alone));
    expect(mine(shared)).toContainEqual([held.leaky, fromProc(held.leaky).fds, 311, 300, null]);
    if (held.netnsNote === 'ok') {
      // A quiet namespace of the test's own: its summary is the same either way.
      const summary = (r: typeof shared): unknown => r.snapshot.host.namespaces.filter((n) => n.readVia === held.netns).map((n) => [n.rows, n.tcpByState]);
      expect(summary(shared)).toEqual(summary(alone));
      expect(summary(shared)).toHaveLength(1);
    }
  });

  it('walks everything on the main thread when the second thread never comes up', async () => {
    const helper = startScanHelper(new URL('file:///nonexistent/scan-worker.js'))!;
    const r = await scanProcesses({ excludePids: [process.pid], helper });
    expect(r.timings.helped).toBe(0);
    expect(r.snapshot.processes.find((p) => p.pid === held.leaky)).toMatchObject({ sockets: 311, orphanSockets: 300 });
  });
});
