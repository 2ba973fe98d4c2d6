#!/usr/bin/env node
/**
 * Benchmark of `fdleak scan` on the incident-scale load (issue 14), side by side with what people
 * run instead and with the least a program could do:
 *   - the lsof pipeline  `lsof -n | awk '{print $2}' | sort | uniq -c | sort -nr | head`
 *   - bench/floor-walk.c: readdir + readlink of every /proc/<pid>/fd/<n>, nothing else (the floor
 *     the targets are judged against), and `--tables`: the same walk, then each network
 *     namespace's socket tables read once, which scan's output needs too (TCP states, rows per
 *     family, orphans): the least work that could produce scan's output;
 *   - with --all: `ss -tanp`, the walk with readlinkat, and the walk in plain Node three ways
 *     (readdirSync + readlinkSync of full paths; what scan does: fd count from st_size, chdir into
 *     the fd directory, readlink of bare names; and that split over worker threads).
 * The load is the shape of the shared bench's perfload.py (`--big 15000 --workers 150 --fds 200`),
 * forked by one python3 holder in its own process group: --workers processes of --fds fds each (a
 * listener, 35% loopback TCP pairs with both ends held, 10% unix socketpairs, 25% pipes, files) and
 * one process of --big fds (~76% ESTABLISHED loopback sockets whose peers live in a helper process,
 * ~6.7% CLOSE_WAIT, ~13% never bound, 4 listeners, pipes, files, epoll and eventfd). Like
 * perfload's, each process has a hole low in its fd table (its closed start-up pipe).
 *
 * --runs N measures N times in a row on the same box (the issue's "three runs in a row"): each
 * run is --rounds rounds, every tool once per round in a rotating order, so drift on the shared
 * machine hits every tool alike; each run prints its medians, the paired ratios (the median of the
 * per-round ratios: tools of one round run within seconds of each other) and the verdict on the
 * targets (scan >= 4x faster than the lsof pipeline, <= 1.8x the C floor), with the load average.
 * Every run is timed by floor-walk --run: wall time, and CPU time (user + system, children
 * included), which a loaded machine disturbs less. Then, once: a markdown table of the last run,
 * where scan's time goes in-process, peak RSS (/usr/bin/time -f %M) and `--version` start-up.
 *
 *   npm run build && node bench/scan.mjs [--runs 3] [--rounds 7] [--workers 150] [--fds 200] [--big 15000]
 *                                        [--threads 0] [--all] [--json out.json] [--baseline other-build/bin/fdleak.js]
 *
 * --baseline times another build's bin/fdleak.js (say, the old main) in the same rounds: `scan --json` and `scan`.
 * --threads N gives the big process N extra threads, as a server would have: `lsof -n` lists every
 * task's fds (reference 3.7), fdleak and the floor read each process once. Default 0.
 *
 * Cleans up by itself: the holder and its children are killed (process group) on exit, on
 * SIGINT/SIGTERM, and die anyway if the bench dies (the holder exits when its stdin closes, the
 * children have PR_SET_PDEATHSIG; the holder gives up after 15 minutes whatever happens).
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { compiled, freshPageCost, PLAIN_NODE } from './lib.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
const OUT = join(HERE, 'out');
const BIN = join(ROOT, 'bin', 'fdleak.js');
const { values: opts } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '7' },
    workers: { type: 'string', default: '150' },
    fds: { type: 'string', default: '200' },
    big: { type: 'string', default: '15000' },
    threads: { type: 'string', default: '0' },
    all: { type: 'boolean', default: false },
    json: { type: 'string' },
    baseline: { type: 'string' },
  },
});
const RUNS = Number(opts.runs);
const ROUNDS = Number(opts.rounds);
const WORKERS = Number(opts.workers);
const PER = Number(opts.fds);
const BIG = Number(opts.big);
const THREADS = Number(opts.threads);
const JSON_OUT = opts.json;
/** Another build's bin/fdleak.js (say, a worktree at the last commit), timed in the same rounds. */
const BASELINE = opts.baseline;
/** The targets of issue 14, acceptance 2. */
const TARGET = { lsofOverScan: 4, scanOverFloor: 1.8 };

const HOLDER = String.raw`
import ctypes, json, os, resource, shutil, signal, socket, struct, sys, tempfile, threading, time
libc = ctypes.CDLL(None, use_errno=True)
# fds leaked by whatever started the bench (a job runner's pipe at fd 250, say) would be inherited
# by every child: close them, so the box is the same from a terminal and from a CI job.
for fd in [int(n) for n in os.listdir('/proc/self/fd')]:
    if fd > 2:
        try: os.close(fd)
        except OSError: pass
workers, per, big, threads = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # the soft limit of the children too
tmp = tempfile.mkdtemp(prefix='fdleak-bench-scan-')
LINGER0 = struct.pack('ii', 1, 0)  # RST at teardown: no TIME_WAIT rows left for the next bench
def rst(*socks):
    for s in socks: s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER0)
def files(n, tag, keep):
    # 60% shared system files, 30% one log opened many times, 10% unlinked temp files ("(deleted)")
    shared = [p for p in ('/etc/passwd', '/etc/hosts', '/etc/os-release', '/dev/null', '/dev/zero', '/dev/urandom', '/usr/bin/env') if os.path.exists(p)]
    log = os.path.join(tmp, tag + '.log')
    for j in range(n):
        if j % 10 < 6: keep.append(os.open(shared[j % len(shared)], os.O_RDONLY))
        elif j % 10 < 9: keep.append(os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644))
        else:
            path = os.path.join(tmp, '%s.tmp%d' % (tag, j)); keep.append(os.open(path, os.O_RDWR | os.O_CREAT, 0o600)); os.unlink(path)
def worker(m, ready):
    # m fds (stdio included): a listener, 35% loopback TCP pairs (both ends), 10% unix socketpairs, 25% pipes, files
    keep = []
    lst = socket.socket(); lst.bind(('127.0.0.1', 0)); lst.listen(256); keep.append(lst)
    for _ in range(int(m * 0.35) // 2):
        c = socket.create_connection(lst.getsockname()); s, _ = lst.accept(); rst(c, s); keep += [c, s]
    for _ in range(int(m * 0.10) // 2): keep += list(socket.socketpair())
    for _ in range(int(m * 0.25) // 2): keep += list(os.pipe())
    files(m - 3 - len(keep), 'w%d' % os.getpid(), keep)
    os.write(ready, b'x'); os.close(ready)
    while True: time.sleep(3600)
def big_main(n, ctl, ready):
    # n fds: ~76% ESTABLISHED loopback sockets (their peers sent to the helper), ~6.7% CLOSE_WAIT,
    # ~13% never bound or connected (orphans), 4 listeners, pipes, files, epoll and eventfd
    scale = n / 15000.0
    lsts = []
    for _ in range(4):
        l = socket.socket(); l.bind(('127.0.0.1', 0)); l.listen(4096); lsts.append(l)
    cw, unbound, pipes, nfiles, anon = max(1, round(1000 * scale)), max(1, round(2000 * scale)), max(1, round(100 * scale)), max(1, round(300 * scale)), max(2, round(20 * scale))
    est = n - 3 - 4 - cw - unbound - 2 * pipes - nfiles - anon
    keep, batch = [], []
    for i in range(est):
        l = lsts[i % 4]; c = socket.create_connection(l.getsockname()); s, _ = l.accept(); rst(c, s)
        keep.append(s); batch.append(c)
        if len(batch) == 200 or i == est - 1:
            socket.send_fds(ctl, [b'f'], [c.fileno() for c in batch])
            for c in batch: c.close()
            batch = []
    ctl.close()  # EOF: the helper has every peer
    for i in range(cw):
        l = lsts[i % 4]; c = socket.create_connection(l.getsockname()); s, _ = l.accept(); rst(s); c.close(); keep.append(s)
    keep += [socket.socket() for _ in range(unbound)]
    for _ in range(pipes): keep += list(os.pipe())
    files(nfiles, 'big', keep)
    import select
    keep += [select.epoll() if j % 2 == 0 else os.eventfd(0) for j in range(anon)]
    for _ in range(threads): threading.Thread(target=time.sleep, args=(3600,), daemon=True).start()
    keep.append(lsts)
    os.write(ready, b'x'); os.close(ready)
    while True: time.sleep(3600)
def helper_main(ctl, ready):
    keep = []
    while True:
        msg, fds, _, _ = socket.recv_fds(ctl, 16, 256)
        keep += fds
        if not msg and not fds: break
    ctl.close(); os.write(ready, b'x'); os.close(ready)
    while True: time.sleep(3600)
devnull = os.open('/dev/null', os.O_RDWR)
def spawn(fn, *args, keep=()):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: die with the holder
        for fd in (0, 1, 2): os.dup2(devnull, fd)
        for fd in [int(n) for n in os.listdir('/proc/self/fd')]:
            if fd > 2 and fd != w and fd not in keep:
                try: os.close(fd)
                except OSError: pass
        try: fn(*args, w)
        finally: os._exit(3)
    os.close(w)
    return pid, r
def ready(r):
    if os.read(r, 1) != b'x': raise SystemExit('a box process failed to start')
    os.close(r)
pids = []
for i in range(0, workers, 16):  # 16 at a time: the holder stays small while it forks
    started = [spawn(worker, per) for _ in range(min(16, workers - i))]
    for pid, r in started: ready(r); pids.append(pid)
if big > 0:
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    hpid, rh = spawn(helper_main, b, keep=(b.fileno(),))
    bpid, rb = spawn(big_main, big, a, keep=(a.fileno(),))
    a.close(); b.close(); ready(rb); ready(rh); pids += [hpid, bpid]
print(json.dumps({'pids': pids, 'tmp': tmp}), flush=True)
threading.Timer(900, lambda: os._exit(1)).start()
sys.stdin.read()  # the bench closed the pipe (or died): the children follow by PDEATHSIG
shutil.rmtree(tmp, ignore_errors=True)
os._exit(0)
`;

const NODE_FLOOR = `
const { readdirSync, readlinkSync } = require('node:fs');
let fds = 0, sockets = 0;
for (const p of readdirSync('/proc')) {
  if (!/^[0-9]+$/.test(p)) continue;
  let names;
  try { names = readdirSync('/proc/' + p + '/fd'); } catch { continue; }
  for (const n of names) {
    try { if (readlinkSync('/proc/' + p + '/fd/' + n).startsWith('socket:')) sockets++; fds++; } catch {}
  }
}
console.log(fds, sockets);`;

/**
 * The walk as scan does it, nothing else: the fd count from st_size of /proc/<pid>/fd, then
 * readlink of the bare names 0..count-1 from inside the directory (chdir). With THREADS set, the
 * processes (the big ones cut into ranges of 2000 fds, largest first) are shared out with one
 * worker per extra CPU through an atomic counter; workers cannot chdir and read full paths. A
 * worker not started by the time the main thread has taken the last range is not waited for.
 */
const NODE_DENSE = `
const { readdirSync, readlinkSync, statSync } = require('node:fs');
const ranges = [];
for (const p of readdirSync('/proc')) {
  if (!/^[0-9]+$/.test(p)) continue;
  let n;
  try { n = statSync('/proc/' + p + '/fd').size; } catch { continue; }
  for (let a = 0; a < n; a += 2000) ranges.push([Number(p), a, Math.min(n, a + 2000)]);
}
ranges.sort((x, y) => (y[2] - y[1]) - (x[2] - x[1]));
const flat = new Int32Array(ranges.flat());
const walk = (flat, ctl, link) => {
  let fds = 0, sockets = 0;
  for (;;) {
    const t = Atomics.add(ctl, 0, 1);
    if (t * 3 >= flat.length) return [fds, sockets];
    const dir = '/proc/' + flat[t * 3] + '/fd';
    for (let i = flat[t * 3 + 1], end = flat[t * 3 + 2]; i < end; i++) {
      try { if (link(dir, String(i)).startsWith('socket:')) sockets++; fds++; } catch {}
    }
  }
};
const extra = process.env.THREADS ? Math.max(1, require('node:os').availableParallelism() - 1) : 0;
const ctl = new Int32Array(new SharedArrayBuffer(4 * (1 + extra)));
const { Worker, MessageChannel, receiveMessageOnPort } = require('node:worker_threads');
const ports = [];
for (let w = 0; w < extra; w++) {
  const { port1, port2 } = new MessageChannel();
  ports.push(port1);
  new Worker(\`const { workerData: d } = require('node:worker_threads'); const { readlinkSync } = require('node:fs');
const ctl = new Int32Array(d.ctl);
if (Atomics.compareExchange(ctl, d.slot, 0, 1) === 0) {
  d.port.postMessage((\${walk})(d.flat, ctl, (dir, n) => readlinkSync(dir + '/' + n)));
  Atomics.store(ctl, d.slot, 2); Atomics.notify(ctl, d.slot);
}
d.port.close();\`, { eval: true, workerData: { flat, ctl: ctl.buffer, slot: 1 + w, port: port2 }, transferList: [port2] }).unref();
}
let inside = null;
const total = walk(flat, ctl, (dir, n) => { if (inside !== dir) { inside = null; process.chdir(dir); inside = dir; } return readlinkSync(n); });
for (let w = 0; w < extra; w++) {
  if (Atomics.compareExchange(ctl, 1 + w, 0, 3) === 0) continue; // never started: not waited for
  while (Atomics.load(ctl, 1 + w) !== 2) Atomics.wait(ctl, 1 + w, 1);
  const [f, s] = receiveMessageOnPort(ports[w]).message;
  total[0] += f; total[1] += s;
}
console.log(total[0], total[1]);
process.exit(0);`;

/** Processes holding the most fds right now (st_size of /proc/<pid>/fd), and the machine's total. */
function fdHolders() {
  const list = [];
  for (const name of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(name)) continue;
    try {
      const fds = statSync(`/proc/${name}/fd`).size;
      const comm = readFileSync(`/proc/${name}/comm`, 'utf8').trim();
      list.push({ pid: Number(name), comm, fds });
    } catch { /* exited, or not ours to read */ }
  }
  list.sort((a, b) => b.fds - a.fds);
  return { processes: list.length, fds: list.reduce((n, p) => n + p.fds, 0), top: list.slice(0, 3) };
}

const loadavg = () => readFileSync('/proc/loadavg', 'utf8').trim().split(' ').slice(0, 3).join(' ');

let holder;
let holderTmp;
function cleanup() {
  if (holder?.pid !== undefined && holder.exitCode === null) {
    try { process.kill(-holder.pid, 'SIGKILL'); } catch { /* gone */ }
  }
  if (holderTmp !== undefined) rmSync(holderTmp, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { cleanup(); process.exit(130); });

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Wall time of one run in ms (spawn to exit, output discarded). */
let stopwatch; // floor-walk --run, once compiled

/**
 * One run (output discarded): wall time in ms, spawn to exit, and CPU time (user + system of the
 * command and the children it waited for), both taken by floor-walk --run around the command.
 */
function run(cmd, argv) {
  const r = spawnSync(stopwatch, ['--run', cmd, ...argv], { stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 30, encoding: 'utf8' });
  const m = /^TIME (\S+) (\S+)$/m.exec(r.stderr);
  if (r.status !== 0 || m === null) throw new Error(`${cmd} ${argv.join(' ')} exited ${r.status}: ${r.stderr}`);
  return { wall: Number(m[1]), cpu: Number(m[2]), stderr: r.stderr };
}

const time = (cmd, argv) => run(cmd, argv).wall;

/** Peak RSS in KiB of a command (and its waited-for children), by /usr/bin/time -f %M. */
function peakRss(cmd, argv) {
  const r = spawnSync('/usr/bin/time', ['-f', '%M', cmd, ...argv], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  return Number(r.stderr.trim().split('\n').pop());
}

async function main() {
  mkdirSync(OUT, { recursive: true });
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) throw new Error('build first: npm run build');
  const floor = compiled('floor-walk');
  if (floor === null) throw new Error('gcc could not build bench/floor-walk.c: the floor and the stopwatch are C');
  stopwatch = floor;

  const before = fdHolders();
  console.log(`before the box: ${before.processes} processes, ${before.fds} fds; biggest: ${before.top.map((p) => `${p.pid} ${p.comm} ${p.fds}`).join(', ')}; load ${loadavg()}`);
  const t0 = Date.now();
  holder = spawn('python3', ['-c', HOLDER, String(WORKERS), String(PER), String(BIG), String(THREADS)], { detached: true, stdio: ['pipe', 'pipe', 'inherit'] });
  const { pids, tmp } = await new Promise((resolve, reject) => {
    let text = '';
    holder.stdout.on('data', (d) => { text += d; if (text.includes('\n')) resolve(JSON.parse(text)); });
    holder.once('exit', (code) => reject(new Error(`box holder exited with ${code}`)));
  });
  holderTmp = tmp;
  const bigFds = BIG;
  const box = execFileSync(floor, ['--tables'], { encoding: 'utf8' }).trim();
  console.log(`box: ${pids.length} processes (${WORKERS} x ${PER} fds, 1 x ${bigFds}${THREADS > 0 ? ` with ${THREADS} extra threads` : ''} and its peers' holder) up in ${Date.now() - t0} ms`);
  console.log(`whole machine now: ${box}; load ${loadavg()}`);

  // fdleak runs as an installed command does, through bin/fdleak.js's launcher line, which drops
  // NODE_EXTRA_CA_CERTS. The node rows measure Node's own cost, so they run without it too (PLAIN_NODE).
  const [env, ...node] = PLAIN_NODE;
  const tools = {
    // --debug: one stderr line saying whether the helper thread ran (counted below); nothing else changes.
    'fdleak scan --json': [BIN, ['--debug', 'scan', '--json']],
    'fdleak scan': [BIN, ['--debug', 'scan']],
    ...(BASELINE === undefined ? {} : { 'baseline build: scan --json': [BASELINE, ['scan', '--json']], 'baseline build: scan': [BASELINE, ['scan']] }),
    'lsof pipeline': ['sh', ['-c', "lsof -n 2>/dev/null | awk '{print $2}' | sort | uniq -c | sort -nr | head"]],
    'C floor (readdir+readlink)': [floor, []],
    'C floor + tables': [floor, ['--tables']],
    ...(!opts.all ? {} : {
      'ss -tanp': ['ss', ['-tanp']],
      'C floor, readlinkat': [floor, ['--at']],
      // What Node itself costs: start-up, then readdirSync + readlinkSync of every fd, nothing else.
      'node floor (JS readdir+readlink)': [env, [...node, '-e', NODE_FLOOR]],
      // The least scan's own way of walking can cost in Node, on one thread and shared with workers.
      'node walk as scan does it': [env, [...node, '-e', NODE_DENSE]],
      'node walk, + worker threads': [env, [...node.slice(0, -1), 'THREADS=1', process.execPath, '-e', NODE_DENSE]],
    }),
  };
  for (const [cmd, argv] of Object.values(tools)) time(cmd, argv); // warm the dentry cache once

  const paired = (xs, a, b) => median(xs[a].map((v, r) => v / xs[b][r]));
  const verdict = (ok) => (ok ? 'met' : 'MISSED');
  const results = [];
  for (let n = 1; n <= RUNS; n++) {
    const times = Object.fromEntries(Object.keys(tools).map((k) => [k, []]));
    const cpus = Object.fromEntries(Object.keys(tools).map((k) => [k, []]));
    const helperRuns = { with: 0, without: 0 }; // fdleak scan runs whose helper thread walked a share, or not
    const machineFds = []; // after each round: other users' processes come and go on a shared machine
    const loadStart = loadavg();
    for (let round = 0; round < ROUNDS; round++) {
      // Interleaved, and the order rotates, so drift on the shared machine hits every tool alike.
      const names = Object.keys(tools);
      const order = names.slice(round % names.length).concat(names.slice(0, round % names.length));
      for (const name of order) {
        const { wall, cpu, stderr } = run(...tools[name]);
        times[name].push(wall);
        cpus[name].push(cpu);
        const shared = /, (\d+) of \d+ processes on a second thread/.exec(stderr);
        if (shared !== null) helperRuns[Number(shared[1]) > 0 ? 'with' : 'without']++;
      }
      machineFds.push(fdHolders().fds);
      process.stdout.write(`run ${n}/${RUNS}, round ${round + 1}/${ROUNDS}\r`);
    }
    const loadEnd = loadavg();
    const med = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
    const cpuMed = Object.fromEntries(Object.entries(cpus).map(([k, v]) => [k, median(v)]));
    const judged = {};
    for (const scan of ['fdleak scan --json', 'fdleak scan']) {
      judged[scan] = {
        lsofOverScan: paired(times, 'lsof pipeline', scan),
        scanOverFloor: paired(times, scan, 'C floor (readdir+readlink)'),
        scanOverFloorTables: paired(times, scan, 'C floor + tables'),
        cpuLsofOverScan: paired(cpus, 'lsof pipeline', scan),
        cpuScanOverFloor: paired(cpus, scan, 'C floor (readdir+readlink)'),
      };
    }
    const met = Object.values(judged).every((j) => j.lsofOverScan >= TARGET.lsofOverScan && j.scanOverFloor <= TARGET.scanOverFloor);
    const baselineOverScan = BASELINE === undefined ? undefined : paired(times, 'baseline build: scan --json', 'fdleak scan --json');
    const baselineOverTable = BASELINE === undefined ? undefined : paired(times, 'baseline build: scan', 'fdleak scan');
    console.log(`\nrun ${n} of ${RUNS}: ${ROUNDS} rounds; load average ${loadStart} before, ${loadEnd} after; fds on the machine ${Math.min(...machineFds)}-${Math.max(...machineFds)}; fdleak's helper thread walked a share in ${helperRuns.with} of ${helperRuns.with + helperRuns.without} runs (it starts only when a core is free: src/cli/prefetch.ts)`);
    console.log('  wall ms, median (min-max), CPU ms median:');
    for (const [k, v] of Object.entries(times)) console.log(`    ${k.padEnd(34)} ${med[k].toFixed(0).padStart(6)}   (${`${Math.min(...v).toFixed(0)}-${Math.max(...v).toFixed(0)})`.padEnd(11)} cpu ${cpuMed[k].toFixed(0).padStart(5)}`);
    console.log('  paired ratios (median of the per-round ratios):');
    for (const [scan, j] of Object.entries(judged)) {
      console.log(`    lsof pipeline / ${scan.padEnd(19)} ${j.lsofOverScan.toFixed(2)}x  (target >= ${TARGET.lsofOverScan}x: ${verdict(j.lsofOverScan >= TARGET.lsofOverScan)}; CPU time ${j.cpuLsofOverScan.toFixed(2)}x)`);
      console.log(`    ${scan.padEnd(19)} / C floor       ${j.scanOverFloor.toFixed(2)}x  (target <= ${TARGET.scanOverFloor}x: ${verdict(j.scanOverFloor <= TARGET.scanOverFloor)}; CPU time ${j.cpuScanOverFloor.toFixed(2)}x; / C floor + tables ${j.scanOverFloorTables.toFixed(2)}x)`);
    }
    if (baselineOverScan !== undefined) console.log(`    baseline build / fdleak scan --json ${baselineOverScan.toFixed(2)}x  (above 1: this build is faster)`);
    if (baselineOverTable !== undefined) console.log(`    baseline build / fdleak scan        ${baselineOverTable.toFixed(2)}x  (the table, as a pipe gets it: no colour)`);
    if (opts.all) {
      console.log(`    node walk + threads / 1 thread     ${paired(times, 'node walk, + worker threads', 'node walk as scan does it').toFixed(2)}x`);
      console.log(`    fdleak scan / node walk            ${paired(times, 'fdleak scan', 'node walk as scan does it').toFixed(2)}x   (what scan adds to the bare walk: facts, tables, orphan check, output)`);
    }
    console.log(`  run ${n}: targets ${met ? 'MET' : 'not met'}`);
    results.push({ run: n, loadStart, loadEnd, machineFds, helperRuns, times, cpus, medians: med, cpuMedians: cpuMed, judged, baselineOverScan, baselineOverTable, met });
  }
  const inARow = results.every((r) => r.met);
  console.log(`\n${RUNS} runs in a row: ${results.map((r) => `run ${r.run} ${r.met ? 'met' : 'missed'} (lsof/scan ${r.judged['fdleak scan --json'].lsofOverScan.toFixed(2)}x, scan/floor ${r.judged['fdleak scan --json'].scanOverFloor.toFixed(2)}x; table: ${r.judged['fdleak scan'].lsofOverScan.toFixed(2)}x, ${r.judged['fdleak scan'].scanOverFloor.toFixed(2)}x)`).join('; ')} -> ${inARow ? 'TARGETS MET in every run' : 'targets NOT met in every run'}`);

  const last = results.at(-1);
  console.log(`\nmarkdown, run ${last.run} (load: ${WORKERS} x ${PER} fds + 1 x ${bigFds} and its peers; machine: ${box}, ${Math.min(...last.machineFds)}-${Math.max(...last.machineFds)} fds over the rounds; ${os.availableParallelism()} CPUs; load ${last.loadStart} -> ${last.loadEnd}; median of ${ROUNDS} interleaved rounds; the last columns: median of the per-round ratios):\n`);
  console.log('| command | wall ms, median | min-max | CPU ms, median | wall vs fdleak scan --json, paired |');
  console.log('|---|---:|---:|---:|---:|');
  for (const [k, v] of Object.entries(last.times)) {
    console.log(`| ${k.replace(/\|/g, '\\|')} | ${last.medians[k].toFixed(0)} | ${Math.min(...v).toFixed(0)}-${Math.max(...v).toFixed(0)} | ${last.cpuMedians[k].toFixed(0)} | ${paired(last.times, k, 'fdleak scan --json').toFixed(2)}x |`);
  }
  console.log('');

  // Where fdleak's time goes, in-process (no node start-up): the scan, and each namespace's tables.
  // Uses tsc's file-per-module output in dist/ (the bundle has no stable module names).
  let inner = [];
  let work = null;
  try {
    const { scanProcesses } = await import(join(ROOT, 'dist', 'live', 'scan.js'));
    const works = [];
    let tables = [];
    for (let i = 0; i < 5; i++) {
      const { snapshot, timings } = await scanProcesses({ excludePids: [process.pid] });
      inner.push(timings.durationMs);
      works.push(timings);
      tables = snapshot.host.namespaces.map((ns) => `${ns.id}: ${Object.values(ns.rows).reduce((a, b) => a + b, 0)} rows in ${timings.tablesByNetns[ns.id]} ms`);
    }
    work = Object.fromEntries(Object.keys(works[0]).filter((k) => typeof works[0][k] === 'number').map((k) => [k, median(works.map((w) => w[k]))]));
    console.log(`in-process scanProcesses(), one thread: median ${median(inner).toFixed(0)} ms = facts ${work.facts} + fd walk ${work.walk} (${work.links} readlinks) + tables ${work.tables} + orphan check ${work.verify} (${work.verifyLinks} readlinks)`);
    console.log(`  tables: ${tables.join('; ')}`);
  } catch (error) {
    console.log(`in-process breakdown skipped: ${error.message}`);
  }

  const rss = {};
  for (const k of ['fdleak scan --json', 'fdleak scan', 'lsof pipeline', 'C floor (readdir+readlink)']) rss[k] = median([0, 1, 2].map(() => peakRss(...tools[k])));
  console.log('peak RSS, median of 3 (MiB):');
  for (const [k, v] of Object.entries(rss)) console.log(`  ${k.padEnd(28)} ${(v / 1024).toFixed(1)}`);

  const version = [];
  const bare = [];
  for (let i = 0; i < 11; i++) {
    version.push(time(BIN, ['--version']));
    bare.push(time(env, [...node, '-e', '0']));
  }
  console.log(`start-up, median of 11: fdleak --version ${median(version).toFixed(0)} ms; node -e 0 ${median(bare).toFixed(0)} ms`);
  console.log(`${freshPageCost() ?? 'fresh-page cost unknown (no gcc)'}`);

  if (JSON_OUT !== undefined) {
    writeFileSync(JSON_OUT, `${JSON.stringify({ runs: RUNS, rounds: ROUNDS, load: { workers: WORKERS, fds: PER, big: bigFds, threads: THREADS }, before, box, cpus: os.availableParallelism(), results, inARow, rssKiB: rss, versionMs: median(version), nodeMs: median(bare), innerMs: inner.length ? median(inner) : null, work }, null, 2)}\n`);
  }
}

try {
  await main();
} finally {
  cleanup();
}
