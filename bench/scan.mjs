#!/usr/bin/env node
/**
 * Benchmark of `fdleak scan` on a crowded box, side by side with what people run instead:
 *   - the lsof pipeline  `lsof -n | awk '{print $2}' | sort | uniq -c | sort -nr | head`
 *   - `ss -tanp`
 *   - bench/floor-walk.c: readdir + readlink of every /proc/<pid>/fd/<n>, nothing else (the floor),
 *     and the same with readlinkat (a lookup relative to the fd directory: what scan's chdir does)
 *   - the same walk in plain Node, three ways: readdirSync + readlinkSync of full paths; what scan
 *     does (fd count from st_size, chdir into the fd directory, readlink of bare names); and that
 *     split over worker threads (one per extra CPU): what Node alone costs, and whether threads
 *     pay on this machine at this load
 * The box: --workers processes x ~200 fds and one process with --big fds (TCP connections
 * over loopback, pipes, /dev/null, a few never-bound sockets), forked by one python3 holder in its
 * own process group. Runs are interleaved (one of each tool per round, the order rotating) and
 * repeated; the load average is printed before and after, and what else holds fds on the machine
 * (other users' processes are walked by every tool alike, but say how big the box really was).
 * Every run is timed by floor-walk --run: wall time, and CPU time (user + system, children
 * included), which a loaded machine disturbs less. Medians and ratios of both are printed, a
 * markdown table, then peak RSS (/usr/bin/time -f %M) and `--version` start-up.
 *
 *   npm run build && node bench/scan.mjs [--runs 9] [--workers 150] [--big 15000] [--threads 0] [--json out.json]
 *                                        [--baseline other-build/bin/fdleak.js]
 *
 * --threads N gives the big process N extra threads, as a server would have: `lsof -n` lists every
 * task's fds (reference 3.7), fdleak and the floor read each process once. Default 0.
 *
 * Cleans up by itself: the holder and its children are killed (process group) on exit, on
 * SIGINT/SIGTERM, and die anyway if the bench dies (the holder exits when its stdin closes, the
 * children have PR_SET_PDEATHSIG; the holder gives up after 15 minutes whatever happens).
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
const OUT = join(HERE, 'out');
const BIN = join(ROOT, 'bin', 'fdleak.js');
const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const RUNS = Number(opt('runs', '9'));
const WORKERS = Number(opt('workers', '150'));
const BIG = Number(opt('big', '15000'));
const THREADS = Number(opt('threads', '0'));
const JSON_OUT = opt('json', undefined);
/** Another build's bin/fdleak.js (say, a worktree at the last commit), timed in the same rounds. */
const BASELINE = opt('baseline', undefined);
/** Set on some machines (this one): every node start then parses that CA bundle first. */
const EXTRA_CA = process.env.NODE_EXTRA_CA_CERTS;

const HOLDER = String.raw`
import ctypes, json, os, resource, signal, socket, sys, threading, time
libc = ctypes.CDLL(None, use_errno=True)
# fds leaked by whatever started the bench (a job runner's pipe at fd 250, say) would be inherited
# by every child, and a hole below them sends every walk to its listing: close them, so the box
# is the same from a terminal and from a CI job.
for fd in [int(n) for n in os.listdir('/proc/self/fd')]:
    if fd > 2:
        try: os.close(fd)
        except OSError: pass
workers, per, big, threads = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # the soft limit of the children too
def hold(total, ready):
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    keep = []
    srv = socket.socket(); srv.bind(('127.0.0.1', 0)); srv.listen(4096); keep.append(srv)
    # 40% TCP connections (both ends here), 30% pipes, the rest /dev/null, and 4 never-bound
    # sockets (orphans: each costs scan a second readlink, after the tables are read).
    while len(keep) < total * 0.40:
        cli = socket.create_connection(srv.getsockname()); acc, _ = srv.accept(); keep += [cli, acc]
    while len(keep) < total * 0.70: keep += list(os.pipe())
    keep += [socket.socket() for _ in range(4)]
    while len(keep) < total - 4: keep.append(open('/dev/null'))
    if total == big:
        for _ in range(threads): threading.Thread(target=time.sleep, args=(3600,), daemon=True).start()
    os.write(ready, b'x')
    while True: time.sleep(3600)
pids = []
for total in [per] * workers + [big]:
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r); hold(total, w)
    os.close(w); os.read(r, 1); os.close(r); pids.append(pid)
print(json.dumps(pids), flush=True)
threading.Timer(900, lambda: os._exit(1)).start()
sys.stdin.read()  # the bench closed the pipe (or died): the children follow by PDEATHSIG
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
function cleanup() {
  if (holder?.pid !== undefined && holder.exitCode === null) {
    try { process.kill(-holder.pid, 'SIGKILL'); } catch { /* gone */ }
  }
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
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) throw new Error('build first: npx tsc -p tsconfig.json');
  const floor = join(OUT, 'floor-walk');
  execFileSync('gcc', ['-O2', '-Wall', '-o', floor, join(HERE, 'floor-walk.c')]);
  stopwatch = floor;

  const before = fdHolders();
  const loadBefore = loadavg();
  console.log(`before the box: ${before.processes} processes, ${before.fds} fds; biggest: ${before.top.map((p) => `${p.pid} ${p.comm} ${p.fds}`).join(', ')}; load ${loadBefore}`);
  const t0 = Date.now();
  holder = spawn('python3', ['-c', HOLDER, String(WORKERS), '200', String(BIG), String(THREADS)], { detached: true, stdio: ['pipe', 'pipe', 'inherit'] });
  const pids = await new Promise((resolve, reject) => {
    let text = '';
    holder.stdout.on('data', (d) => { text += d; if (text.includes('\n')) resolve(JSON.parse(text)); });
    holder.once('exit', (code) => reject(new Error(`box holder exited with ${code}`)));
  });
  const box = execFileSync(floor, { encoding: 'utf8' }).trim();
  const tcpRows = execFileSync('sh', ['-c', 'cat /proc/net/tcp /proc/net/tcp6 | wc -l'], { encoding: 'utf8' }).trim();
  console.log(`box: ${pids.length} processes (${WORKERS} x 200 fds, 1 x ${BIG}${THREADS > 0 ? ` with ${THREADS} extra threads` : ''}) up in ${Date.now() - t0} ms`);
  console.log(`whole machine now: ${box}; /proc/net/tcp{,6} rows: ${tcpRows}; load ${execFileSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).trim()}`);

  // fdleak runs as an installed command does, through bin/fdleak.js's launcher line, which drops
  // NODE_EXTRA_CA_CERTS (Node 20 parses that bundle at start-up: ~40 ms here). The node rows measure
  // Node's own cost, so they run without it too; `node bin/fdleak.js` keeps it, to show what it costs.
  const node = ['env', ['-u', 'NODE_EXTRA_CA_CERTS', process.execPath]];
  const tools = {
    // --debug: one stderr line saying whether the helper thread ran (counted below); nothing else changes.
    'fdleak scan': [BIN, ['--debug', 'scan']],
    'fdleak scan --json': [BIN, ['--debug', 'scan', '--json']],
    ...(EXTRA_CA === undefined ? {} : { 'node bin/fdleak.js scan (NODE_EXTRA_CA_CERTS kept)': [process.execPath, [BIN, 'scan']] }),
    ...(BASELINE === undefined ? {} : { 'fdleak scan, baseline build': [BASELINE, ['scan']] }),
    'lsof pipeline': ['sh', ['-c', "lsof -n 2>/dev/null | awk '{print $2}' | sort | uniq -c | sort -nr | head"]],
    'ss -tanp': ['ss', ['-tanp']],
    'floor (C readdir+readlink)': [floor, []],
    'floor, readlinkat': [floor, ['--at']],
    // What Node itself costs: start-up, then readdirSync + readlinkSync of every fd, nothing else.
    'node floor (JS readdir+readlink)': [node[0], [...node[1], '-e', NODE_FLOOR]],
    // The least scan's own way of walking can cost in Node, on one thread and shared with workers.
    'node walk as scan does it': [node[0], [...node[1], '-e', NODE_DENSE]],
    'node walk, + worker threads': [node[0], [...node[1].slice(0, 2), 'THREADS=1', process.execPath, '-e', NODE_DENSE]],
  };
  const times = Object.fromEntries(Object.keys(tools).map((k) => [k, []]));
  const cpus = Object.fromEntries(Object.keys(tools).map((k) => [k, []]));
  for (const [cmd, argv] of Object.values(tools)) time(cmd, argv); // warm the dentry cache once
  const loadStart = loadavg();
  const helperRuns = { with: 0, without: 0 }; // fdleak scan runs whose helper thread walked a share, or not
  const machineFds = []; // after each round: other users' processes come and go on a shared machine
  for (let round = 0; round < RUNS; round++) {
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
    process.stdout.write(`round ${round + 1}/${RUNS}\r`);
  }
  const loadEnd = loadavg();
  const med = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
  const cpuMed = Object.fromEntries(Object.entries(cpus).map(([k, v]) => [k, median(v)]));
  console.log(`\nwall time, median of ${RUNS} interleaved runs (ms; min-max), and CPU time (user + system, median); load average ${loadStart} before the rounds, ${loadEnd} after; fds on the machine ${Math.min(...machineFds)}-${Math.max(...machineFds)}:`);
  for (const [k, v] of Object.entries(times)) console.log(`  ${k.padEnd(33)} ${med[k].toFixed(0).padStart(6)}   (${`${Math.min(...v).toFixed(0)}-${Math.max(...v).toFixed(0)})`.padEnd(11)} cpu ${cpuMed[k].toFixed(0).padStart(5)}`);
  const scanMs = med['fdleak scan'];
  const cFloor = med['floor (C readdir+readlink)'];
  const ratios = {
    lsofOverScan: med['lsof pipeline'] / scanMs,
    scanOverFloor: scanMs / cFloor,
    scanOverFloorAt: scanMs / med['floor, readlinkat'],
    jsonOverFloor: med['fdleak scan --json'] / cFloor,
    ssOverScan: med['ss -tanp'] / scanMs,
    nodeFloorOverFloor: med['node floor (JS readdir+readlink)'] / cFloor,
    scanOverNodeFloor: scanMs / med['node floor (JS readdir+readlink)'],
    nodeWalkOverFloorAt: med['node walk as scan does it'] / med['floor, readlinkat'],
    scanOverNodeWalk: scanMs / med['node walk as scan does it'],
    threadsOverOne: med['node walk, + worker threads'] / med['node walk as scan does it'],
  };
  console.log(`fdleak scan's helper thread walked a share in ${helperRuns.with} of ${helperRuns.with + helperRuns.without} runs (it starts only when a core is free: src/cli/prefetch.ts)`);
  console.log('ratios of medians:');
  const cpuScan = cpuMed['fdleak scan'];
  // Paired: the median of the per-round ratios. Tools of one round run within seconds of each
  // other, so a load spike or another user's process coming and going hits both sides of a ratio.
  const paired = (xs, a, b) => median(xs[a].map((v, r) => v / xs[b][r]));
  const cpuRatios = { lsofOverScan: cpuMed['lsof pipeline'] / cpuScan, scanOverFloor: cpuScan / cpuMed['floor (C readdir+readlink)'] };
  const pairedRatios = {
    lsofOverScan: paired(times, 'lsof pipeline', 'fdleak scan'),
    scanOverFloor: paired(times, 'fdleak scan', 'floor (C readdir+readlink)'),
    cpuLsofOverScan: paired(cpus, 'lsof pipeline', 'fdleak scan'),
    cpuScanOverFloor: paired(cpus, 'fdleak scan', 'floor (C readdir+readlink)'),
    threadsOverOne: paired(times, 'node walk, + worker threads', 'node walk as scan does it'),
    ...(BASELINE === undefined ? {} : {
      baselineOverScan: paired(times, 'fdleak scan, baseline build', 'fdleak scan'),
      cpuBaselineOverScan: paired(cpus, 'fdleak scan, baseline build', 'fdleak scan'),
    }),
  };
  const verdict = (ok) => (ok ? 'met' : 'MISSED');
  console.log(`  lsof pipeline / fdleak scan    ${ratios.lsofOverScan.toFixed(2)}x   (target >= 4x: ${verdict(ratios.lsofOverScan >= 4)}; paired by round ${pairedRatios.lsofOverScan.toFixed(2)}x; CPU time ${cpuRatios.lsofOverScan.toFixed(2)}x, paired ${pairedRatios.cpuLsofOverScan.toFixed(2)}x)`);
  console.log(`  fdleak scan / C floor          ${ratios.scanOverFloor.toFixed(2)}x   (target <= 1.8x: ${verdict(ratios.scanOverFloor <= 1.8)}; paired by round ${pairedRatios.scanOverFloor.toFixed(2)}x; CPU time ${cpuRatios.scanOverFloor.toFixed(2)}x, paired ${pairedRatios.cpuScanOverFloor.toFixed(2)}x)`);
  console.log(`  fdleak scan / C readlinkat     ${ratios.scanOverFloorAt.toFixed(2)}x`);
  console.log(`  node floor / C floor           ${ratios.nodeFloorOverFloor.toFixed(2)}x   (what Node alone costs: start-up and per-call overhead)`);
  console.log(`  node walk / C readlinkat       ${ratios.nodeWalkOverFloorAt.toFixed(2)}x   (the same lookups from Node: start-up and per-call overhead)`);
  console.log(`  fdleak scan / node walk        ${ratios.scanOverNodeWalk.toFixed(2)}x   (what scan adds to the bare walk: limits, names, socket tables, orphan check, output)`);
  {
    const nodeWalk = med['node walk as scan does it'];
    console.log(`  where scan's ${(scanMs - cFloor).toFixed(0)} ms over the C floor go: ${(nodeWalk - cFloor).toFixed(0)} ms Node start-up and per-call cost for the same links (node walk - C floor; node -e 0 is timed below), ${(scanMs - nodeWalk).toFixed(0)} ms scan's own work and modules (scan - node walk)`);
  }
  console.log(`  node walk + threads / 1 thread ${ratios.threadsOverOne.toFixed(2)}x   (paired ${pairedRatios.threadsOverOne.toFixed(2)}x: ${pairedRatios.threadsOverOne < 0.95 ? 'threads pay here' : 'threads do not pay here, at this load'})`);
  console.log(`  fdleak scan / node floor       ${ratios.scanOverNodeFloor.toFixed(2)}x`);
  console.log(`  fdleak scan --json / C floor   ${ratios.jsonOverFloor.toFixed(2)}x`);
  console.log(`  ss -tanp / fdleak scan         ${ratios.ssOverScan.toFixed(2)}x`);
  if (BASELINE !== undefined) {
    const base = med['fdleak scan, baseline build'];
    console.log(`  baseline build / fdleak scan   ${(base / scanMs).toFixed(2)}x   (paired ${pairedRatios.baselineOverScan.toFixed(2)}x, CPU time paired ${pairedRatios.cpuBaselineOverScan.toFixed(2)}x; baseline: lsof ${(med['lsof pipeline'] / base).toFixed(2)}x slower, ${(base / cFloor).toFixed(2)}x the C floor, paired ${paired(times, 'fdleak scan, baseline build', 'floor (C readdir+readlink)').toFixed(2)}x)`);
  }

  console.log(`\nmarkdown (box: ${WORKERS} x 200 fds + 1 x ${BIG}; machine: ${box}, ${Math.min(...machineFds)}-${Math.max(...machineFds)} fds over the rounds; ${os.availableParallelism()} CPUs; load ${loadStart} -> ${loadEnd}; median of ${RUNS} interleaved runs; the last columns: median of the per-round ratios):\n`);
  console.log('| command | wall ms, median | min-max | CPU ms, median | wall vs fdleak scan, paired | CPU vs fdleak scan, paired |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const [k, v] of Object.entries(times)) {
    console.log(`| ${k.replace(/\|/g, '\\|')} | ${med[k].toFixed(0)} | ${Math.min(...v).toFixed(0)}-${Math.max(...v).toFixed(0)} | ${cpuMed[k].toFixed(0)} | ${paired(times, k, 'fdleak scan').toFixed(2)}x | ${paired(cpus, k, 'fdleak scan').toFixed(2)}x |`);
  }
  console.log('');

  // Where fdleak's time goes, in-process (no node start-up): the scan, and each namespace's tables.
  // Uses tsc's file-per-module output in dist/ (the bundle has no stable module names); skipped
  // if the build no longer emits it.
  let inner = [];
  let work = null;
  let tables = [];
  let full = [];
  try {
    const { scanProcesses } = await import(join(ROOT, 'dist', 'live', 'scan.js'));
    const works = [];
    for (let i = 0; i < Math.min(RUNS, 5); i++) {
      const { snapshot, timings } = await scanProcesses({ excludePids: [process.pid] });
      inner.push(timings.durationMs);
      works.push(timings);
      tables = snapshot.host.namespaces.map((n) => `${n.id}: ${Object.values(n.rows).reduce((a, b) => a + b, 0)} rows in ${timings.tablesByNetns[n.id]} ms`);
    }
    work = Object.fromEntries(Object.keys(works[0]).filter((k) => typeof works[0][k] === 'number').map((k) => [k, median(works.map((w) => w[k]))]));
    console.log(`in-process scanProcesses(): median ${median(inner).toFixed(0)} ms = facts ${work.facts} + fd walk ${work.walk} (${work.links} readlinks) + tables ${work.tables} + orphan check ${work.verify} (${work.verifyLinks} readlinks)`);
    console.log(`  tables: ${tables.join('; ')}`);
    const { readNetTables } = await import(join(ROOT, 'dist', 'live', 'diagnose.js'));
    for (let i = 0; i < 3; i++) {
      const s = performance.now();
      readNetTables('/proc/self/net', null);
      full.push(performance.now() - s);
    }
    console.log(`  same tables fully parsed (live-process readNetTables, as diagnose does): median ${median(full).toFixed(0)} ms`);
  } catch (error) {
    console.log(`in-process breakdown skipped: ${error.message}`);
  }

  const rss = {
    'fdleak scan': median([0, 1, 2].map(() => peakRss(...tools['fdleak scan']))),
    'fdleak scan --json': median([0, 1, 2].map(() => peakRss(...tools['fdleak scan --json']))),
    'lsof pipeline': median([0, 1, 2].map(() => peakRss(...tools['lsof pipeline']))),
    'floor (C readdir+readlink)': median([0, 1, 2].map(() => peakRss(...tools['floor (C readdir+readlink)']))),
  };
  console.log('peak RSS, median of 3 (MiB):');
  for (const [k, v] of Object.entries(rss)) console.log(`  ${k.padEnd(28)} ${(v / 1024).toFixed(1)}`);

  const version = [];
  const bare = [];
  for (let i = 0; i < 11; i++) {
    version.push(time(BIN, ['--version']));
    bare.push(time(node[0], [...node[1], '-e', '0']));
  }
  console.log(`start-up, median of 11: fdleak --version ${median(version).toFixed(0)} ms; node -e 0 ${median(bare).toFixed(0)} ms`);

  if (JSON_OUT !== undefined) {
    writeFileSync(JSON_OUT, `${JSON.stringify({ runs: RUNS, threads: THREADS, helperRuns, before, loadBefore, loadStart, loadEnd, cpus: os.availableParallelism(), box, times, medians: med, ratios, cpuMs: cpus, cpuMedians: cpuMed, cpuRatios, pairedRatios, machineFds, rssKiB: rss, versionMs: median(version), nodeMs: median(bare), innerMs: inner.length ? median(inner) : null, work, tables, fullParseMs: full.length ? median(full) : null }, null, 2)}\n`);
  }
}

try {
  await main();
} finally {
  cleanup();
}
