#!/usr/bin/env node
/**
 * Benchmark of `fdleak analyze` on a 1,000,000-line `lsof -n` capture, side by side with the awk
 * one-liner operators use on such a file to count rows per PID:
 *
 *   awk '{++S[$2]} END {for (a in S) print a, S[a]}' FILE
 *
 *   npm run build && npm run bench:analyze -- [--rounds 7] [--lines 1000000] [--keep]
 *   node bench/analyze.mjs --capture FILE [--lines N]     (only write the capture, e.g. to profile)
 *   ... --base LSOF.txt       (replicate this saved `lsof -n` output instead of running lsof now)
 *
 * The capture: while a small holder process (python3) keeps a realistic set of sockets open (a
 * listener, established loopback connections with both ends held, client ends whose peer closed
 * (CLOSE_WAIT), never-bound sockets (lsof's "sock" rows: orphans), unix socketpairs, bound UDP
 * sockets, pipes and files, held by 4 threads so that lsof repeats them on thread rows), this
 * script runs `lsof -n` once: every process of the box, with lsof's TID rows. That real capture is
 * then replicated until it has the requested number of lines. Each copy after the first stands for
 * other processes of a bigger box: its PIDs and TIDs, and its socket inodes, are renumbered (one
 * consistent map per copy, so a socket shared after fork() stays shared), numbers keep their column
 * alignment, and the header is printed once. So fdleak sees 1,000,000 distinct rows (no shortcut
 * through its per-(pid, fd) de-duplication) and keeps every socket fd of every copy.
 *
 * Each round runs `fdleak analyze FILE --fail-on never`, the same with `--json`, and the awk
 * one-liner, in a rotating order so none always goes first; times are wall-clock medians, because
 * on a shared machine single times are noise. Peak RSS is measured in separate runs under
 * /usr/bin/time -f %M (when installed), so the timed runs carry no wrapper. The capture lives under
 * os.tmpdir() and is deleted at the end (unless --keep), as is the holder (killed on exit, SIGINT,
 * SIGTERM; it also exits when its stdin closes and gives up after 15 minutes whatever happens).
 * The table is markdown, ready for README.md.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { loadavg, release, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin', 'fdleak.js');
const { values: opts } = parseArgs({
  options: {
    rounds: { type: 'string', default: '7' },
    lines: { type: 'string', default: '1000000' },
    keep: { type: 'boolean', default: false },
    capture: { type: 'string' },
    base: { type: 'string' },
  },
});
const ROUNDS = Number(opts.rounds);
const LINES = Number(opts.lines);
const RSS_ROUNDS = 3;
const BIG_PROCESS = 5000;
const AWK = "{++S[$2]} END {for (a in S) print a, S[a]}";

const HOLDER = String.raw`
import os, signal, socket, sys, threading
signal.alarm(15 * 60)  # never outlive a stuck bench
keep = []
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(128)
keep.append(listener)
def connect():
    client = socket.create_connection(listener.getsockname())
    server, _ = listener.accept()
    return client, server
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

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** One run: wall time in ms, exit status, output. */
function run(argv) {
  const start = process.hrtime.bigint();
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', maxBuffer: 256 << 20, env: { ...process.env, NO_COLOR: '1' } });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.error) throw r.error;
  return { ms, status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Peak RSS of one run in KiB, from /usr/bin/time -f %M; null without it. */
function peakRss(argv) {
  if (!existsSync('/usr/bin/time')) return null;
  const r = spawnSync('/usr/bin/time', ['-f', '@@rss=%M', ...argv], { encoding: 'utf8', maxBuffer: 256 << 20, env: { ...process.env, NO_COLOR: '1' } });
  const m = /@@rss=(\d+)/.exec(r.stderr ?? '');
  return m === null ? null : Number(m[1]);
}

function startHolder() {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', ['-c', HOLDER], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    const early = (code) => reject(new Error(`the socket holder exited early (code ${code})`));
    child.on('error', reject);
    child.on('exit', early);
    child.stdout.on('data', (d) => {
      out += d;
      const m = /^(\d+) (\d+)\n/.exec(out);
      if (m === null) return;
      child.off('exit', early);
      resolve({ child, pid: m[1], fds: Number(m[2]) });
    });
  });
}

/** First line with a version number in it, e.g. "lsof 4.95.0". */
function toolVersion(name, args) {
  const r = spawnSync(name, args, { encoding: 'utf8' });
  if (r.error) return `${name} missing`;
  const line = `${r.stdout}${r.stderr}`.split('\n').find((l) => /\d+\.\d+/.test(l)) ?? '?';
  return `${name} ${/\d+\.\d+(\.\d+)*/.exec(line)?.[0] ?? line.trim()}`;
}

/** TYPE column values that are sockets (as fdleak's lsof parser reads them). */
const SOCKET_TYPES = new Set(['IPv4', 'IPv6', 'sock', 'unix', 'netlink', 'raw', 'raw6', 'pack']);

/**
 * Token positions of a data row of `lsof -n` (list-everything: COMMAND PID [TID TASKCMD] USER FD
 * TYPE DEVICE SIZE/OFF NODE NAME): which token is the PID, the TID, the socket inode. A row that does
 * not read so (a warning) is copied as it is.
 */
function rowShape(line) {
  const tokens = [];
  const re = /\S+/g;
  let m;
  while ((m = re.exec(line)) !== null && tokens.length < 12) tokens.push({ text: m[0], start: m.index, end: m.index + m[0].length });
  if (tokens.length < 4 || !/^\d+$/.test(tokens[1].text)) return null;
  const fdAt = (i) => tokens[i] !== undefined && /^(\d+[rwu]?[rRwWuUNxX]?|\*\d{3}[rwu]?.?|cwd|rtd|txt|mem|DEL|NOFD|mmap)$/.test(tokens[i].text);
  // USER FD TYPE right after PID, or TID TASKCMD first
  const threaded = /^\d+$/.test(tokens[2].text) && fdAt(5) && !fdAt(3);
  const u = threaded ? 4 : 2;
  const type = tokens[u + 2]?.text;
  let inode = null;
  if (type === 'IPv4' || type === 'IPv6') inode = tokens[u + 3];
  else if (SOCKET_TYPES.has(type)) inode = tokens.slice(u + 3).find((t) => /^\d+$/.test(t.text) && t.text.length >= 4) ?? null;
  if (inode !== null && !/^\d+$/.test(inode.text)) inode = null;
  return { pid: tokens[1], tid: threaded ? tokens[2] : null, inode, type, socket: SOCKET_TYPES.has(type) };
}

/**
 * Puts `text` where `token` was, keeping the column's right edge: lsof right-aligns numbers, so a
 * wider number takes spaces from its left (keeping one), a narrower one gives them back.
 */
function replaceRight(line, token, text, shift) {
  const start = token.start + shift;
  const end = token.end + shift;
  let blank = start;
  while (blank > 0 && line[blank - 1] === ' ') blank--;
  const from = Math.max(end - text.length, blank === 0 ? 0 : blank + 1, 0);
  const next = line.slice(0, Math.min(from, start)) + ' '.repeat(Math.max(0, from - start)) + text + line.slice(end);
  return { line: next, shift: shift + next.length - line.length };
}

/** `lsof -n` of this box, replicated to `lines` lines (see the top of this file); returns the mix. */
function buildCapture(path, lines, holderPid) {
  const r = opts.base !== undefined
    ? { stdout: readFileSync(opts.base, 'latin1'), stderr: '', status: 0 }
    : spawnSync('lsof', ['-n'], { encoding: 'latin1', maxBuffer: 1 << 30 });
  if (r.error) throw r.error;
  const text = r.stdout.replace(/\n$/, '');
  let [header, ...rows] = text.split('\n');
  if (!/^COMMAND\s+PID\s/.test(header) || rows.length < 100) throw new Error(`lsof -n printed no usable listing (exit ${r.status}): ${r.stderr.slice(0, 300)}`);
  // Other benchmarks' fd holders (10,000+ fds, some with dozens of threads) would swamp the mix of
  // an ordinary box: processes with more than BIG_PROCESS rows, other than this bench's holder, are
  // left out, and the output says so.
  const perPid = new Map();
  let shapes = rows.map(rowShape);
  for (const s of shapes) if (s !== null) perPid.set(s.pid.text, (perPid.get(s.pid.text) ?? 0) + 1);
  const big = new Set([...perPid].filter(([pid, n]) => n > BIG_PROCESS && pid !== holderPid).map(([pid]) => pid));
  const dropped = { processes: big.size, rows: 0 };
  if (big.size > 0) {
    const keep = shapes.map((s) => s === null || !big.has(s.pid.text));
    dropped.rows = keep.filter((k) => !k).length;
    rows = rows.filter((_, i) => keep[i]);
    shapes = shapes.filter((_, i) => keep[i]);
  }
  let maxId = 0;
  let maxInode = 0;
  for (const s of shapes) {
    if (s === null) continue;
    maxId = Math.max(maxId, Number(s.pid.text), Number(s.tid?.text ?? 0));
    if (s.inode !== null) maxInode = Math.max(maxInode, Number(s.inode.text));
  }
  const mix = { dropped, rows: rows.length, sockets: shapes.filter((s) => s?.socket).length, types: new Map() };
  for (const s of shapes) if (s !== null) mix.types.set(s.type, (mix.types.get(s.type) ?? 0) + 1);
  let nextId = maxId;
  let nextInode = maxInode;
  const fd = openSync(path, 'w');
  let buffer = [header];
  const flush = () => {
    if (buffer.length === 0) return;
    writeSync(fd, buffer.join('\n') + '\n', null, 'latin1');
    buffer = [];
  };
  let written = 1;
  for (let copy = 0; written < lines; copy++) {
    const ids = new Map();
    const inodes = new Map();
    const id = (t) => {
      let v = ids.get(t.text);
      if (v === undefined) ids.set(t.text, (v = String(++nextId)));
      return v;
    };
    const ino = (t) => {
      let v = inodes.get(t.text);
      if (v === undefined) inodes.set(t.text, (v = String(++nextInode)));
      return v;
    };
    for (let i = 0; i < rows.length && written < lines; i++, written++) {
      const s = shapes[i];
      if (copy === 0 || s === null) {
        buffer.push(rows[i]);
      } else {
        let out = { line: rows[i], shift: 0 };
        out = replaceRight(out.line, s.pid, id(s.pid), out.shift);
        if (s.tid !== null) out = replaceRight(out.line, s.tid, id(s.tid), out.shift);
        if (s.inode !== null) out = replaceRight(out.line, s.inode, ino(s.inode), out.shift);
        buffer.push(out.line);
      }
      if (buffer.length >= 10_000) flush();
    }
  }
  flush();
  closeSync(fd);
  return mix;
}

if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) {
  console.error('bench: dist/ is missing: run `npm run build` (or `npm install`) first');
  process.exit(2);
}

const dir = mkdtempSync(join(tmpdir(), 'fdleak-bench-analyze-'));
const capture = join(dir, 'lsof-n.txt');
const holder = await startHolder();
let stopped = false;
const stop = () => {
  if (stopped) return;
  stopped = true;
  holder.child.stdin.end();
  holder.child.kill();
  if (!opts.keep) rmSync(dir, { recursive: true, force: true });
};
process.on('exit', stop);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));

const mix = buildCapture(opts.capture ?? capture, LINES, holder.pid);
holder.child.stdin.end();
holder.child.kill();
const bytes = statSync(opts.capture ?? capture).size;
const typeList = [...mix.types].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([t, n]) => `${t} ${n}`).join(', ');
const droppedText = mix.dropped.processes === 0 ? '' : `, without ${mix.dropped.rows} rows of ${mix.dropped.processes} processes holding more than ${BIG_PROCESS} rows each (other benchmarks' fd holders?)`;
console.error(`bench: lsof -n gave ${mix.rows} rows${droppedText} (${mix.sockets} sockets; ${typeList}); replicated to ${LINES} lines, ${(bytes / 2 ** 20).toFixed(0)} MiB: ${capture}`);
if (opts.capture !== undefined) {
  console.error(`bench: wrote ${opts.capture}`);
  process.exit(0);
}

const commands = [
  { name: '`fdleak analyze FILE`', argv: [process.execPath, BIN, 'analyze', capture, '--fail-on', 'never'], ok: (r) => r.status === 0 && r.stdout.includes(`lsof, ${LINES} lines`) },
  {
    name: '`fdleak analyze FILE --json`', argv: [process.execPath, BIN, 'analyze', capture, '--json', '--fail-on', 'never'],
    ok: (r) => r.status === 0 && JSON.parse(r.stdout).input?.lines === LINES,
  },
  { name: "`awk '{++S[$2]} END {...}' FILE`", argv: ['awk', AWK, capture], ok: (r) => r.status === 0 && r.stdout.split('\n').length > 100 },
];
const check = (c, r) => {
  if (!c.ok(r)) throw new Error(`${c.argv.join(' ')} did not do its job (exit ${r.status}):\n${r.stderr.slice(0, 2000)}`);
};

const load = [loadavg()[0]];
let summary = '';
for (const c of commands) {
  const r = run(c.argv); // warm-up (page cache): not counted
  check(c, r);
  if (c === commands[0]) summary = r.stdout.split('\n')[0];
}
const times = commands.map(() => []);
for (let round = 0; round < ROUNDS; round++) {
  for (let k = 0; k < commands.length; k++) {
    const i = (k + round) % commands.length;
    const r = run(commands[i].argv);
    check(commands[i], r);
    times[i].push(r.ms);
  }
  process.stderr.write(`bench: round ${round + 1}/${ROUNDS}\r`);
}
const rss = commands.map(() => []);
for (let round = 0; round < RSS_ROUNDS; round++) {
  commands.forEach((c, i) => {
    const kib = peakRss(c.argv);
    if (kib !== null) rss[i].push(kib);
  });
}
load.push(loadavg()[0]);
process.stderr.write('\n');
if (opts.keep) console.error(`bench: kept ${capture}`);
stop();

const med = times.map(median);
const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
const cpu = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? 'unknown cpu';
const cores = cpuinfo.match(/^processor\s*:/gm)?.length ?? '?';
const secs = (ms) => `${(ms / 1000).toFixed(3)} s`;
const mib = (list) => (list.length === 0 ? 'n/a' : `${(Math.max(...list) / 1024).toFixed(0)} MiB`);
const awk = med[2];
const share = ((100 * mix.sockets) / mix.rows).toFixed(1);
const out = [
  `A ${LINES.toLocaleString('en-US')}-line \`lsof -n\` capture (${(bytes / 2 ** 20).toFixed(0)} MiB): one real capture of this box (${mix.rows} rows${droppedText}, ${share}% of them sockets), replicated with renumbered PIDs and socket inodes; ${ROUNDS} interleaved rounds, medians.`,
  `fdleak: "${summary}". Node ${process.versions.node}, Linux ${release()}, ${cores} x ${cpu}, ${toolVersion('awk', ['--version'])}; load average ${load.map((l) => l.toFixed(1)).join(' -> ')}.`,
  '',
  '| command | median | min | max | median / awk | peak RSS |',
  '|---|---:|---:|---:|---:|---:|',
  ...commands.map((c, i) => `| ${c.name} | ${secs(med[i])} | ${secs(Math.min(...times[i]))} | ${secs(Math.max(...times[i]))} | ${(med[i] / awk).toFixed(2)}x | ${mib(rss[i])} |`),
  '',
  `fdleak analyze / awk: ${(med[0] / awk).toFixed(2)}x, with --json ${(med[1] / awk).toFixed(2)}x (target <= 4x); ` +
    `fdleak analyze peak RSS ${mib(rss[0])}, with --json ${mib(rss[1])} (target <= 200 MiB).`,
];
console.log(out.join('\n'));
