#!/usr/bin/env node
/**
 * Benchmark of `fdleak analyze` on a 1,000,000-line `lsof -n` capture, side by side with the awk
 * one-liner operators run on such a file (rows per PID):
 *
 *   awk '{++S[$2]} END {for (a in S) print a, S[a]}' FILE
 *
 *   npm run build && npm run bench:analyze -- [--rounds 7] [--lines 1000000]
 *   ... [--base LSOF.txt]   replicate this saved `lsof -n` output instead of running lsof now
 *   ... [--keep]            keep the captures (their directory is printed)
 *   ... [--capture-only]    write the captures, print where, and stop (to profile, say)
 *   ... --socket-heavy [--lines 1000000,5000000]
 *                           the incident case instead: one process holding 15,000 sockets
 *                           (`lsof -n -p PID` of it), replicated as other processes to each
 *                           size given: most rows are sockets, and every socket is distinct
 *
 * The capture: while a small holder process (python3) keeps a realistic set of sockets open (a
 * listener, established loopback connections with both ends held, client ends whose peer closed
 * (CLOSE_WAIT), never-bound sockets (lsof's "sock" rows: orphans), unix socketpairs, bound UDP
 * sockets, pipes and files, held by 4 threads so that lsof repeats them on thread rows), this
 * script runs `lsof -n` once: every process of the box, with lsof's TID rows. Processes of more
 * than 5,000 rows other than the holder (other benchmarks' fd holders, when they run) are left out,
 * so that the mix is an ordinary box's; the output says how many. That real capture is then
 * replicated to 1,000,000 lines (the header once), two ways:
 * - "as is": the rows repeated; a second copy of a row is the same fd of the same process, as a
 *   thread row is: fdleak reads every row and counts each (pid, fd) once;
 * - "as other processes": each copy after the first stands for other processes of a bigger box:
 *   its PIDs, TIDs and socket inodes are renumbered (one map per copy, so a socket shared after
 *   fork() stays shared; numbers keep their column's right edge). Every row is then a distinct fd,
 *   every socket is distinct: the most for fdleak to keep (past 10,000 sockets it folds them:
 *   src/capture/fold.ts).
 *
 * Each round runs, for each capture, `fdleak analyze FILE --fail-on never`, the same with --json,
 * and the awk one-liner, in a rotating order so none always goes first; times are wall-clock
 * medians, because on a shared machine single times are noise. Peak RSS is measured in separate
 * runs under /usr/bin/time -f %M (when installed), so the timed runs carry no wrapper. The
 * captures live under os.tmpdir() and are deleted at the end (unless --keep), as is the holder
 * (killed on exit, SIGINT and SIGTERM; it also exits when its stdin closes, and gives up after 15
 * minutes whatever happens). The table is markdown, ready for README.md.
 *
 * --socket-heavy: the holder (SOCKET_HOLDER) keeps 15,000 sockets: a listener, 4,000 established
 * loopback connections with both ends held, 4,000 client ends in CLOSE_WAIT, 2,000 never-bound
 * sockets (lsof "sock" rows) and 500 unix socketpairs; `lsof -n -p PID` of it (no thread rows) is
 * the base, replicated as other processes only (renumbered PIDs and inodes: every socket distinct),
 * to every size of --lines. What the memory target is about: it must not grow with the input.
 *
 * Threads: a capture of 16 to 256 MiB is read by two threads when a core is free
 * (src/capture/tail.ts); FDLEAK_ANALYZE_THREADS=2 in the environment reads it with two whatever the
 * load (=1: one thread), which is how to compare the two on a busy box. The generator itself is
 * bench/replicate.mjs (a command too: tests make their big captures with it).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { alternatingRounds, BIN, freshPageCost, median, peakRssRounds, PLAIN_NODE, PY_LOOPBACK_PAIRS, ROOT, run, startHolder } from './lib.mjs';
import { replicate, rowShape } from './replicate.mjs';

const { values: opts } = parseArgs({
  options: {
    rounds: { type: 'string', default: '7' },
    lines: { type: 'string', default: '1000000' },
    base: { type: 'string' },
    keep: { type: 'boolean', default: false },
    'capture-only': { type: 'boolean', default: false },
    'socket-heavy': { type: 'boolean', default: false },
  },
});
const ROUNDS = Number(opts.rounds);
const SOCKET_HEAVY = opts['socket-heavy'];
const SIZES = opts.lines.split(',').map(Number);
const LINES = SIZES[0];
const KEEP = opts.keep || opts['capture-only'];
const RSS_ROUNDS = 3;
/** Rows above which a process other than the holder is left out of the base capture. */
const BIG_PROCESS = 5000;
const AWK = '{++S[$2]} END {for (a in S) print a, S[a]}';
/**
 * The Node floor: awk's job (rows per PID) in plain Node: 64 KiB at a time read into one buffer,
 * each read decoded into one string, the PID column found by a sticky regex per line. Strings under
 * 128 KiB live and die in V8's young generation (fdleak cuts its chunks at 48 KiB for that reason:
 * capture/text-input.ts); with 1 MiB reads, each string a fresh mapping of its own, this took 1.17 s
 * instead of 0.40 on the 1M-line socket-heavy capture (7 alternating runs, 2026-12-04). `node -e NODE_FLOOR FILE`; prints what
 * the awk line prints, in another order. What fdleak costs over it is its own work: every column
 * of every row read, sockets folded, rules.
 */
const NODE_FLOOR = String.raw`
const { openSync, readSync } = require('node:fs');
const fd = openSync(process.argv[1], 'r');
const buf = Buffer.allocUnsafe(1 << 16);
const counts = new Map();
const FIELD2 = /[ \t]*\S+[ \t]+(\S+)/y;
let rest = '';
for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0;) {
  const text = rest + buf.latin1Slice(0, n);
  let s = 0;
  for (let e; (e = text.indexOf('\n', s)) >= 0; s = e + 1) {
    FIELD2.lastIndex = s;
    const m = FIELD2.exec(text);
    if (m !== null && FIELD2.lastIndex <= e) counts.set(m[1], (counts.get(m[1]) ?? 0) + 1);
  }
  rest = text.slice(s);
}
let out = '';
for (const [k, v] of counts) out += k + ' ' + v + '\n';
process.stdout.write(out);`;

const HOLDER = String.raw`
import os, signal, socket, sys, threading
signal.alarm(15 * 60)  # never outlive a stuck bench
${PY_LOOPBACK_PAIRS}
for _ in range(50):                          # ESTABLISHED, both ends held
    keep.extend(connect())
for _ in range(30):                          # CLOSE_WAIT: the peer closed, this end never does
    client, server = connect()
    server.close()
    keep.append(client)
for _ in range(60):                          # never bound: in no socket table (orphans)
    keep.append(socket.socket())
for _ in range(30):                          # unix socketpairs
    keep.extend(socket.socketpair())
for _ in range(10):                          # bound UDP sockets
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", 0))
    keep.append(u)
for _ in range(20):                          # pipes
    keep.extend(os.pipe())
for path in ["/dev/null", "/etc/hostname", "/etc/passwd", sys.executable] * 5:
    keep.append(open(path, "rb"))
done = threading.Event()
threads = [threading.Thread(target=done.wait, daemon=True) for _ in range(3)]
for t in threads:
    t.start()
print(os.getpid(), len(os.listdir("/proc/self/fd")) - 1, flush=True)
sys.stdin.read()
`;

/** --socket-heavy: one process holding 15,000 sockets, most of them TCP (the incident case). */
const SOCKET_HOLDER = String.raw`
import os, resource, signal, socket, sys
signal.alarm(15 * 60)  # never outlive a stuck bench
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 19000), hard))
${PY_LOOPBACK_PAIRS}
for _ in range(4000):                        # ESTABLISHED, both ends held
    keep.extend(connect())
for _ in range(4000):                        # CLOSE_WAIT: the peer closed, this end never does
    client, server = connect()
    server.close()
    keep.append(client)
for _ in range(2000):                        # never bound: lsof "sock" rows (orphans)
    keep.append(socket.socket())
for _ in range(500):                         # unix socketpairs
    keep.extend(socket.socketpair())
print(os.getpid(), len(os.listdir("/proc/self/fd")) - 1, flush=True)
sys.stdin.read()
`;


/** Which awk: "mawk 1.3.4", "GNU Awk 5.2.1" (mawk has -W version, gawk --version). */
function awkVersion() {
  for (const args of [['-W', 'version'], ['--version']]) {
    const r = spawnSync('awk', args, { encoding: 'utf8', input: '' });
    const line = `${r.stdout ?? ''}`.split('\n').find((l) => /\d+\.\d+/.test(l));
    if (line !== undefined) return /^(\S+(?: Awk)? [\d.]+)/.exec(line.trim())?.[1] ?? line.trim().slice(0, 40);
  }
  return 'awk';
}

/** One real `lsof -n` of this box (or --base), without other benchmarks' fd holders. */
function baseCapture(holderPid) {
  const r = opts.base !== undefined
    ? { stdout: readFileSync(opts.base, 'latin1'), stderr: '', status: 0 }
    : spawnSync('lsof', SOCKET_HEAVY ? ['-n', '-p', holderPid] : ['-n'], { encoding: 'latin1', maxBuffer: 1 << 30 });
  if (r.error) throw r.error;
  let [header, ...rows] = r.stdout.replace(/\n$/, '').split('\n');
  if (!/^COMMAND\s+PID\s/.test(header) || rows.length < 100) throw new Error(`lsof -n printed no usable listing (exit ${r.status}): ${r.stderr.slice(0, 300)}`);
  let shapes = rows.map(rowShape);
  const perPid = new Map();
  for (const s of shapes) if (s !== null) perPid.set(s.pid.text, (perPid.get(s.pid.text) ?? 0) + 1);
  const big = new Set([...perPid].filter(([pid, n]) => n > BIG_PROCESS && pid !== holderPid).map(([pid]) => pid));
  const dropped = { processes: big.size, rows: 0 };
  if (big.size > 0) {
    const keep = shapes.map((s) => s === null || !big.has(s.pid.text));
    dropped.rows = keep.filter((k) => !k).length;
    rows = rows.filter((_, i) => keep[i]);
    shapes = shapes.filter((_, i) => keep[i]);
  }
  const types = new Map();
  for (const s of shapes) if (s !== null) types.set(s.type, (types.get(s.type) ?? 0) + 1);
  const processes = new Set(shapes.filter((s) => s !== null).map((s) => s.pid.text)).size;
  const threadRows = shapes.filter((s) => s?.tid !== null && s?.tid !== undefined).length;
  return { header, rows, shapes, dropped, types, processes, threadRows, sockets: shapes.filter((s) => s?.socket).length };
}

if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) {
  console.error('bench: dist/ is missing: run `npm run build` (or `npm install`) first');
  process.exit(2);
}

const dir = mkdtempSync(join(tmpdir(), 'fdleak-bench-analyze-'));
const holder = await startHolder(SOCKET_HEAVY ? SOCKET_HOLDER : HOLDER, [], 'socket holder');
let stopped = false;
const stopHolder = () => {
  if (stopped) return;
  stopped = true;
  holder.child.stdin.end();
  holder.child.kill();
};
process.on('exit', () => {
  stopHolder();
  if (!KEEP) rmSync(dir, { recursive: true, force: true });
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));

const base = baseCapture(holder.pid);
stopHolder(); // the capture is taken: the holder's sockets are no longer needed
const captures = SOCKET_HEAVY
  ? SIZES.map((lines) => ({ name: `socket-heavy, ${lines.toLocaleString('en-US')} lines`, path: join(dir, `lsof-n-sockets-${lines}.txt`), renumber: true, lines }))
  : [
    { name: 'as is', path: join(dir, 'lsof-n-as-is.txt'), renumber: false, lines: LINES },
    { name: 'as other processes', path: join(dir, 'lsof-n-other-processes.txt'), renumber: true, lines: LINES },
  ];
for (const c of captures) c.bytes = replicate(base, c.path, c.lines, c.renumber);
const share = (n) => `${((100 * n) / base.rows.length).toFixed(1)}%`;
const typeList = [...base.types].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([t, n]) => `${t} ${n}`).join(', ');
const processes = (n) => `${n} process${n === 1 ? '' : 'es'}`;
const droppedText = base.dropped.processes === 0 ? '' : `; left out: ${base.dropped.rows} rows of ${processes(base.dropped.processes)} with more than ${BIG_PROCESS} rows each (other benchmarks' fd holders)`;
const mixText = `${base.rows.length} rows of ${processes(base.processes)}, ${share(base.threadRows)} of them thread rows, ${share(base.sockets)} sockets (by TYPE: ${typeList})${droppedText}`;
console.error(`bench: lsof -n gave ${mixText}`);
if (!SOCKET_HEAVY && base.sockets > base.rows.length / 5) {
  console.error('bench: warning: more than a fifth of the rows are sockets: other fd-holding workloads on this box skew the mix (socket rows cost fdleak the most to read); run it again on a quieter box');
}
for (const c of captures) console.error(`bench: ${c.lines} lines ${c.name}: ${(c.bytes / 2 ** 20).toFixed(0)} MiB, ${c.path}`);
if (opts['capture-only']) process.exit(0);

const commands = captures.flatMap((c) => [
  {
    name: '`fdleak analyze FILE`', capture: c, argv: [BIN, 'analyze', c.path, '--fail-on', 'never'],
    ok: (r) => r.status === 0 && r.stdout.startsWith(`${c.path}: lsof, ${c.lines} lines`),
  },
  {
    name: '`fdleak analyze FILE --json`', capture: c, argv: [BIN, 'analyze', c.path, '--json', '--fail-on', 'never'],
    ok: (r) => r.status === 0 && JSON.parse(r.stdout).input?.lines === c.lines,
  },
  { name: "`awk '{++S[$2]} END {...}' FILE`", capture: c, argv: ['awk', AWK, c.path], ok: (r) => r.status === 0 && r.stdout.split('\n').length > 10, awk: true },
  { name: 'Node floor: the awk job in plain Node', capture: c, argv: [...PLAIN_NODE, '-e', NODE_FLOOR, c.path], ok: (r) => r.status === 0 && r.stdout.split('\n').length > 10, floor: true },
]);
const check = (c, r) => {
  if (!c.ok(r)) throw new Error(`${c.argv.join(' ')} did not do its job (exit ${r.status}):\n${r.stderr.slice(0, 2000)}`);
};

const load = [loadavg()[0]];
const summaries = new Map();
for (const c of commands) {
  const r = run(c.argv); // warm-up (page cache, code cache): not counted
  check(c, r);
  if (!c.awk && !c.floor && !c.argv.includes('--json')) summaries.set(c.capture, r.stdout.split('\n')[0].replace(`${c.capture.path}: `, ''));
}
const times = alternatingRounds(commands, ROUNDS, check, (round) => process.stderr.write(`bench: round ${round + 1}/${ROUNDS}\r`));
const rss = peakRssRounds(commands, RSS_ROUNDS);
load.push(loadavg()[0]);
process.stderr.write('\n');
if (KEEP) console.error(`bench: kept ${dir}`);

const med = times.map(median);
const awkOf = (c) => med[commands.findIndex((x) => x.awk && x.capture === c)];
const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
const cpu = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? 'unknown cpu';
const cores = cpuinfo.match(/^processor\s*:/gm)?.length ?? '?';
const secs = (ms) => `${(ms / 1000).toFixed(3)} s`;
const mib = (list) => (list.length === 0 ? 'n/a' : `${(Math.max(...list) / 1024).toFixed(0)} MiB`);
const verdict = (c) => {
  const [table, json] = commands.map((x, i) => [x, i]).filter(([x]) => x.capture === c && !x.awk && !x.floor).map(([, i]) => i);
  const floor = commands.findIndex((x) => x.floor && x.capture === c);
  return `${c.name}: ${(med[table] / awkOf(c)).toFixed(2)}x awk, ${(med[json] / awkOf(c)).toFixed(2)}x with --json (the Node floor ${(med[floor] / awkOf(c)).toFixed(2)}x); peak RSS ${mib(rss[table])}, ${mib(rss[json])} with --json`;
};
const out = [
  SOCKET_HEAVY
    ? `\`lsof -n -p PID\` of one process holding ${base.sockets.toLocaleString('en-US')} sockets (${mixText}), replicated as other processes (renumbered PIDs and socket inodes: every socket distinct) to ${captures.map((c) => `${c.lines.toLocaleString('en-US')} lines (${(c.bytes / 2 ** 20).toFixed(0)} MiB)`).join(' and ')}. ${ROUNDS} interleaved rounds, medians.`
    : `A ${LINES.toLocaleString('en-US')}-line \`lsof -n\` capture: one real capture of this box (${mixText}), replicated as is (${(captures[0].bytes / 2 ** 20).toFixed(0)} MiB) and as other processes (renumbered PIDs, TIDs and socket inodes; ${(captures[1].bytes / 2 ** 20).toFixed(0)} MiB). ${ROUNDS} interleaved rounds, medians.`,
  `Node ${process.versions.node}, Linux ${release()}, ${cores} x ${cpu}, ${awkVersion()}; load average ${load.map((l) => l.toFixed(1)).join(' -> ')}; ${freshPageCost() ?? 'fresh-page cost unknown (no gcc)'}.`,
  '',
  '| capture | command | median | min | max | median / awk | peak RSS |',
  '|---|---|---:|---:|---:|---:|---:|',
  ...commands.map((c, i) => `| ${c.capture.name} | ${c.name} | ${secs(med[i])} | ${secs(Math.min(...times[i]))} | ${secs(Math.max(...times[i]))} | ${(med[i] / awkOf(c.capture)).toFixed(2)}x | ${mib(rss[i])} |`),
  '',
  ...captures.map((c) => `fdleak read ${c.name}: "${summaries.get(c)}".`),
  '',
  `Targets: at most 4x awk, peak RSS at most 200 MiB${SOCKET_HEAVY ? ' at 1M lines, 250 MiB at 5M' : ''}. ${captures.map(verdict).join('; ')}.`,
];
console.log(out.join('\n'));
