#!/usr/bin/env node
/**
 * Benchmark of `fdleak scan` on a crowded box, side by side with what people run instead:
 *   - the lsof pipeline  `lsof -n | awk '{print $2}' | sort | uniq -c | sort -nr | head`
 *   - `ss -tanp`
 *   - bench/floor-walk.c: readdir + readlink of every /proc/<pid>/fd/<n>, nothing else (the floor)
 *   - the same walk in plain Node (readdirSync + readlinkSync): what Node alone costs
 * The box: --workers processes x ~200 fds and one process with --big fds (TCP connections
 * over loopback, pipes, /dev/null, a few never-bound sockets), forked by one python3 holder in its
 * own process group. Runs are interleaved (one of each tool per round) and repeated; medians and
 * ratios are printed, then peak RSS (/usr/bin/time -f %M) and `--version` start-up.
 *
 *   npm run build && node bench/scan.mjs [--runs 7] [--workers 150] [--big 15000] [--threads 0] [--json out.json]
 *
 * --threads N gives the big process N extra threads, as a server would have: `lsof -n` lists every
 * task's fds (reference 3.7), fdleak and the floor read each process once. Default 0.
 *
 * Cleans up by itself: the holder and its children are killed (process group) on exit, on
 * SIGINT/SIGTERM, and die anyway if the bench dies (the holder exits when its stdin closes, the
 * children have PR_SET_PDEATHSIG; the holder gives up after 15 minutes whatever happens).
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
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
const RUNS = Number(opt('runs', '7'));
const WORKERS = Number(opt('workers', '150'));
const BIG = Number(opt('big', '15000'));
const THREADS = Number(opt('threads', '0'));
const JSON_OUT = opt('json', undefined);

const HOLDER = String.raw`
import ctypes, json, os, resource, signal, socket, sys, threading, time
libc = ctypes.CDLL(None, use_errno=True)
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
function time(cmd, argv) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, argv, { stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 30 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
}

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

  const tools = {
    'fdleak scan': [process.execPath, [BIN, 'scan']],
    'fdleak scan --json': [process.execPath, [BIN, 'scan', '--json']],
    'lsof pipeline': ['sh', ['-c', "lsof -n 2>/dev/null | awk '{print $2}' | sort | uniq -c | sort -nr | head"]],
    'ss -tanp': ['ss', ['-tanp']],
    'floor (C readdir+readlink)': [floor, []],
    'floor, readlinkat': [floor, ['--at']],
    // What Node itself costs: start-up, then readdirSync + readlinkSync of every fd, nothing else.
    'node floor (JS readdir+readlink)': [process.execPath, ['-e', NODE_FLOOR]],
  };
  const times = Object.fromEntries(Object.keys(tools).map((k) => [k, []]));
  for (const [cmd, argv] of Object.values(tools)) time(cmd, argv); // warm the dentry cache once
  for (let round = 0; round < RUNS; round++) {
    // Interleaved, and the order rotates, so drift on the shared machine hits every tool alike.
    const names = Object.keys(tools);
    const order = names.slice(round % names.length).concat(names.slice(0, round % names.length));
    for (const name of order) times[name].push(time(...tools[name]));
    process.stdout.write(`round ${round + 1}/${RUNS}\r`);
  }
  const med = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
  console.log(`\nwall time, median of ${RUNS} interleaved runs (ms; min-max):`);
  for (const [k, v] of Object.entries(times)) console.log(`  ${k.padEnd(33)} ${med[k].toFixed(0).padStart(6)}   (${Math.min(...v).toFixed(0)}-${Math.max(...v).toFixed(0)})`);
  const scanMs = med['fdleak scan'];
  const ratios = {
    lsofOverScan: med['lsof pipeline'] / scanMs,
    scanOverFloor: scanMs / med['floor (C readdir+readlink)'],
    scanOverFloorAt: scanMs / med['floor, readlinkat'],
    jsonOverFloor: med['fdleak scan --json'] / med['floor (C readdir+readlink)'],
    ssOverScan: med['ss -tanp'] / scanMs,
    nodeFloorOverFloor: med['node floor (JS readdir+readlink)'] / med['floor (C readdir+readlink)'],
    scanOverNodeFloor: scanMs / med['node floor (JS readdir+readlink)'],
  };
  console.log('ratios of medians:');
  console.log(`  lsof pipeline / fdleak scan    ${ratios.lsofOverScan.toFixed(2)}x   (target >= 4x: ${ratios.lsofOverScan >= 4 ? 'met' : 'MISSED'})`);
  console.log(`  fdleak scan / C floor          ${ratios.scanOverFloor.toFixed(2)}x   (target <= 1.8x: ${ratios.scanOverFloor <= 1.8 ? 'met' : 'MISSED'})`);
  console.log(`  fdleak scan / C readlinkat     ${ratios.scanOverFloorAt.toFixed(2)}x`);
  console.log(`  node floor / C floor           ${ratios.nodeFloorOverFloor.toFixed(2)}x   (what Node alone costs: start-up and per-call overhead)`);
  console.log(`  fdleak scan / node floor       ${ratios.scanOverNodeFloor.toFixed(2)}x`);
  console.log(`  fdleak scan --json / C floor   ${ratios.jsonOverFloor.toFixed(2)}x`);
  console.log(`  ss -tanp / fdleak scan         ${ratios.ssOverScan.toFixed(2)}x`);

  // Where fdleak's time goes, in-process (no node start-up): the scan, and each namespace's tables.
  // Uses tsc's file-per-module output in dist/ (the bundle has no stable module names); skipped
  // if the build no longer emits it.
  let inner = [];
  let work = null;
  let tables = [];
  let full = [];
  try {
    const { scanProcesses } = await import(join(ROOT, 'dist', 'collectors', 'live-scan.js'));
    const works = [];
    for (let i = 0; i < Math.min(RUNS, 5); i++) {
      const r = scanProcesses({ excludePids: [process.pid] });
      inner.push(r.durationMs);
      works.push(r.work);
      tables = r.host.namespaces.map((n) => `${n.id}: ${Object.values(n.rows).reduce((a, b) => a + b, 0)} rows in ${n.readMs} ms`);
    }
    work = Object.fromEntries(Object.keys(works[0]).map((k) => [k, median(works.map((w) => w[k]))]));
    console.log(`in-process scanProcesses(): median ${median(inner).toFixed(0)} ms = facts ${work.facts} + fd walk ${work.walk} (${work.links} readlinks) + tables ${work.tables} + orphan check ${work.verify} (${work.verifyLinks} readlinks)`);
    console.log(`  tables: ${tables.join('; ')}`);
    const { readNetTables } = await import(join(ROOT, 'dist', 'collectors', 'live-process.js'));
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
    version.push(time(process.execPath, [BIN, '--version']));
    bare.push(time(process.execPath, ['-e', '0']));
  }
  console.log(`start-up, median of 11: fdleak --version ${median(version).toFixed(0)} ms; node -e 0 ${median(bare).toFixed(0)} ms`);

  if (JSON_OUT !== undefined) {
    writeFileSync(JSON_OUT, `${JSON.stringify({ runs: RUNS, threads: THREADS, box, times, medians: med, ratios, rssKiB: rss, versionMs: median(version), nodeMs: median(bare), innerMs: inner.length ? median(inner) : null, work, tables, fullParseMs: full.length ? median(full) : null }, null, 2)}\n`);
  }
}

try {
  await main();
} finally {
  cleanup();
}
