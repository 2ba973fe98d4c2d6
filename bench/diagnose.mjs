#!/usr/bin/env node
/**
 * Benchmark of `fdleak diagnose` on one process holding ~15,000 fds, side by side with
 * `lsof -n -P -p PID` (what people run to look at one process) and `ss -tanp` (its sockets), in two
 * cases (issue 14):
 * - quiet: the mix below, in a namespace that holds little else (~2,000 TCP rows);
 * - crowded: the incident-scale load of the field test, in a namespace whose TCP table holds
 *   ~25,000 rows: 76% ESTABLISHED loopback connections whose other ends live in a second process
 *   (a forked peer: half of the rows are not the diagnosed process's), 6.7% CLOSE_WAIT, 13% never
 *   bound, the rest pipes and files. A diagnose of a busy server's process in the host namespace.
 *
 *   npm run build && npm run bench:diagnose -- [--rounds 11] [--fds 15000] [--netns own|shared] [--case quiet|crowded|both]
 *
 * The holder is python3: it raises its soft RLIMIT_NOFILE to the hard limit, then opens a mix of
 * fds: 30% never-bound sockets (orphans), 6% loopback TCP connections with both ends held, 3% client
 * ends whose server end was closed (CLOSE_WAIT), 6% unix socketpairs, 10% pipes, the rest files over
 * a handful of paths. Loopback only.
 *
 * lsof, ss and fdleak all read every row of the namespace's socket tables, other processes' too, so
 * on a shared machine the result depends on what else runs. `--netns own` (the default for root)
 * puts the holder in a network namespace of its own (unshare(CLONE_NEWNET), lo brought up) and runs
 * all three commands in it through `nsenter --net`: the tables then hold the holder's sockets only.
 * `--netns shared` (the default otherwise) leaves everything in the current namespace; the row
 * counts, sampled every round, are printed either way.
 *
 * Beside them, two floors of the same work in each case: bench/floor-diagnose.c (readlink every fd,
 * then read the TCP tables and pick the process's rows by inode, in C) and NODE_FLOOR below (the
 * same in plain Node, one thread). What fdleak costs over the Node floor is its own; what the Node
 * floor costs over the C floor is the runtime's (start-up, the fresh pages of its heap: see the
 * fresh-page line), which no change to fdleak can take off.
 *
 * Each round runs every command once, in a rotating order so none always goes first; times are
 * wall-clock medians, because on a shared machine single times are noise. Peak RSS is measured in
 * separate runs under /usr/bin/time -f %M (when installed), so the timed runs carry no wrapper.
 * The table is markdown, ready for README.md.
 *
 * It stops by itself: the holder exits when its stdin (a pipe from this script) closes, is killed
 * on exit, SIGINT and SIGTERM, and gives up after 15 minutes whatever happens.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { loadavg, release } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { alternatingRounds, BIN, compiled, freshPageCost, median, peakRssRounds, PLAIN_NODE, PY_LOOPBACK_PAIRS, ROOT, run, startHolder } from './lib.mjs';

const { values: opts } = parseArgs({
  options: {
    rounds: { type: 'string', default: '11' },
    fds: { type: 'string', default: '15000' },
    netns: { type: 'string', default: process.getuid?.() === 0 ? 'own' : 'shared' },
    case: { type: 'string', default: 'both' },
  },
});
if (!['quiet', 'crowded', 'both'].includes(opts.case)) {
  console.error(`bench: --case: expected quiet, crowded or both, found "${opts.case}"`);
  process.exit(2);
}
if (opts.netns !== 'own' && opts.netns !== 'shared') {
  console.error(`bench: --netns: expected own or shared, found "${opts.netns}"`);
  process.exit(2);
}
const OWN_NETNS = opts.netns === 'own';
const ROUNDS = Number(opts.rounds);
const FDS = Number(opts.fds);
const RSS_ROUNDS = 3;

const HOLDER = String.raw`
import ctypes, fcntl, os, resource, signal, socket, struct, sys
total, own_netns = int(sys.argv[1]), sys.argv[2] == "own"
signal.alarm(15 * 60)  # never outlive a stuck bench
if own_netns:
    if ctypes.CDLL(None, use_errno=True).unshare(0x40000000) != 0:  # CLONE_NEWNET
        sys.exit("unshare(CLONE_NEWNET): %s (run as root, or use --netns shared)" % os.strerror(ctypes.get_errno()))
    s = socket.socket()
    fcntl.ioctl(s, 0x8914, struct.pack("16sH14x", b"lo", 0x1 | 0x8 | 0x40))  # SIOCSIFFLAGS lo: UP LOOPBACK RUNNING
    s.close()
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if hard != resource.RLIM_INFINITY and hard < total + 64:
    sys.exit("the hard RLIMIT_NOFILE is %d: too low for %d fds (try --fds %d)" % (hard, total, hard - 64))
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
${PY_LOOPBACK_PAIRS}
if sys.argv[3] == "crowded":
    # The other ends in a forked peer: it accepts the ESTABLISHED ones and keeps them, then accepts
    # and closes the CLOSE_WAIT ones; it exits with the holder (same stdin).
    established, close_wait = total * 76 // 100, total * 67 // 1000
    if os.fork() == 0:
        held = [listener.accept()[0] for _ in range(established)]
        for _ in range(close_wait):
            listener.accept()[0].close()
        sys.stdin.read()
        os._exit(0)
    for _ in range(established + close_wait):
        keep.append(socket.create_connection(listener.getsockname()))
    for _ in range(total * 13 // 100):       # never bound: in no socket table (orphans)
        keep.append(socket.socket())
else:
    for _ in range(total * 6 // 100 // 2):       # ESTABLISHED, both ends held
        keep.extend(connect())
    for _ in range(total * 3 // 100):            # CLOSE_WAIT: the peer closed, this end never does
        client, server = connect()
        server.close()
        keep.append(client)
    for _ in range(total * 6 // 100 // 2):       # unix socketpairs
        keep.extend(socket.socketpair())
    for _ in range(total * 30 // 100):           # never bound: in no socket table (orphans)
        keep.append(socket.socket())
for _ in range(total * (2 if sys.argv[3] == "crowded" else 10) // 100 // 2):  # pipes
    keep.extend(os.pipe())
paths = ["/dev/null", "/dev/zero", "/etc/hostname", "/etc/passwd", sys.executable]
have = len(os.listdir("/proc/self/fd")) - 1  # listdir's own directory fd is gone again
while have < total:                          # files: the rest
    keep.append(open(paths[have % len(paths)], "rb"))
    have += 1
print(os.getpid(), len(os.listdir("/proc/self/fd")) - 1, flush=True)
sys.stdin.read()
`;

/**
 * The Node floor: what floor-diagnose.c does, as plainly as Node does it (readdir, chdir into fd/,
 * readlink of each bare name, the tcp and tcp6 texts read whole, st and inode found by a sticky
 * regex per row). `node -e NODE_FLOOR PID`; prints what floor-diagnose prints.
 */
const NODE_FLOOR = String.raw`
const { readdirSync, readlinkSync, readFileSync } = require('node:fs');
const pid = process.argv[1];
const names = readdirSync('/proc/' + pid + '/fd');
process.chdir('/proc/' + pid + '/fd');
const inodes = new Set();
let sockets = 0;
for (const n of names) {
  let l;
  try { l = readlinkSync(n); } catch { continue; }
  if (l.startsWith('socket:[')) { inodes.add(l.slice(8, -1)); sockets++; }
}
const COLS = /[ \t]*(?:\S+[ \t]+){3}(\S+)[ \t]+(?:\S+[ \t]+){5}(\S+)/y;
let rows = 0, kept = 0;
for (const t of ['tcp', 'tcp6']) {
  const text = readFileSync('/proc/' + pid + '/net/' + t, 'latin1');
  for (let s = text.indexOf('\n') + 1; s < text.length;) {
    let e = text.indexOf('\n', s);
    if (e < 0) e = text.length;
    COLS.lastIndex = s;
    const m = COLS.exec(text);
    rows++;
    if (m !== null && (m[2] === '0' || inodes.has(m[2]) || m[1] === '05' || m[1] === '08')) kept++;
    s = e + 1;
  }
}
console.log('fds=' + names.length + ' sockets=' + sockets + ' rows=' + rows + ' kept=' + kept);`;
const FLOOR_LINE = /^fds=\d+ sockets=\d+ rows=\d+ kept=\d+$/m;
const FLOOR_C = compiled('floor-diagnose');

/** First line with a version number in it, e.g. "lsof 4.95.0". */
function toolVersion(name, args) {
  const r = spawnSync(name, args, { encoding: 'utf8' });
  if (r.error) return `${name} missing`;
  const line = `${r.stdout}${r.stderr}`.split('\n').find((l) => /\d+\.\d+/.test(l)) ?? '?';
  return `${name} ${/\d+\.\d+(\.\d+)*/.exec(line)?.[0] ?? line.trim()}`;
}

/**
 * Rows in the holder's namespace tables. lsof, ss and fdleak all read every row, other processes'
 * too, so on a shared machine these numbers (sampled every round) explain much of the spread.
 */
const TABLES = { tcp: ['tcp', 'tcp6'], udp: ['udp', 'udp6'], unix: ['unix'] };
const tableRows = Object.fromEntries(Object.keys(TABLES).map((k) => [k, []]));
function sampleTables(pid) {
  const rows = (t) => {
    try {
      return readFileSync(`/proc/${pid}/net/${t}`, 'latin1').split('\n').filter((l) => l.trim() !== '').length - 1;
    } catch {
      return 0;
    }
  };
  for (const [k, files] of Object.entries(TABLES)) tableRows[k].push(files.reduce((n, f) => n + rows(f), 0));
}
const describeTables = () =>
  Object.entries(tableRows)
    .map(([k, v]) => `${k} ${Math.min(...v) === Math.max(...v) ? v[0] : `${Math.min(...v)}-${Math.max(...v)}`}`)
    .join(', ');

if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) {
  console.error('bench: dist/ is missing: run `npm run build` (or `npm install`) first');
  process.exit(2);
}

const holders = new Set();
process.on('exit', () => { for (const h of holders) { h.child.stdin.end(); h.child.kill(); } });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));

const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
const cpu = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? 'unknown cpu';
const cores = cpuinfo.match(/^processor\s*:/gm)?.length ?? '?';
const secs = (ms) => `${(ms / 1000).toFixed(3)} s`;
const mib = (list) => (list.length === 0 ? 'n/a' : `${(Math.max(...list) / 1024).toFixed(0)} MiB`);
const out = [
  `Node ${process.versions.node}, Linux ${release()}, ${cores} x ${cpu}, ${toolVersion('lsof', ['-v'])}, ${toolVersion('ss', ['-V'])} ` +
    '(fdleak reads /proc/PID on a second thread when a core is free as it starts: src/cli/prefetch.ts).',
  `${freshPageCost() ?? 'fresh-page cost unknown (no gcc)'}.`,
];
for (const which of opts.case === 'both' ? ['quiet', 'crowded'] : [opts.case]) out.push('', ...(await benchCase(which)));
console.log(out.join('\n'));

/** One case: its holder started, every command timed in rotating rounds; the markdown lines. */
async function benchCase(which) {
  for (const k of Object.keys(tableRows)) tableRows[k] = [];
  const holder = await startHolder(HOLDER, [String(FDS), opts.netns, which], `fd holder (${which})`).catch((error) => {
    console.error(`bench: ${error.message}`); // the holder has said why on stderr
    process.exit(2);
  });
  holders.add(holder);
  const pid = holder.pid;
  // In the holder's namespace: each tool then reads the tables the holder's sockets are in.
  const inNetns = OWN_NETNS ? ['nsenter', `--net=/proc/${pid}/ns/net`] : [];
  // fdleak runs as an installed command does, through bin/fdleak.js's launcher line, which drops
  // NODE_EXTRA_CA_CERTS (Node 20 parses that bundle at start-up: ~40 ms here); the last row runs it
  // as `node bin/fdleak.js`, keeping the variable, where it is set, to show what it costs.
  const EXTRA_CA = process.env.NODE_EXTRA_CA_CERTS;
  const commands = [
    { name: '`fdleak diagnose PID`', argv: [...inNetns, BIN, 'diagnose', pid], ok: (r) => r.status === 1 && r.stdout.includes('orphan-sockets') },
    { name: '`lsof -n -P -p PID`', argv: [...inNetns, 'lsof', '-n', '-P', '-p', pid], ok: (r) => r.status === 0 && r.stdout.split('\n').length > holder.fds },
    { name: '`ss -tanp`', argv: [...inNetns, 'ss', '-tanp'], ok: (r) => r.status === 0 && r.stdout.includes('CLOSE-WAIT') },
    { name: '`fdleak --version`', argv: [BIN, '--version'], ok: (r) => r.status === 0 && /^\d+\.\d+\.\d+\n$/.test(r.stdout) },
    ...(EXTRA_CA === undefined ? [] : [
      { name: '`node bin/fdleak.js diagnose PID` (NODE_EXTRA_CA_CERTS kept)', argv: [...inNetns, process.execPath, BIN, 'diagnose', pid], ok: (r) => r.status === 1 && r.stdout.includes('orphan-sockets') },
    ]),
    ...(FLOOR_C === null ? [] : [
      { name: 'C floor: readlink every fd, pick its TCP rows (bench/floor-diagnose.c)', argv: [...inNetns, FLOOR_C, pid], ok: (r) => r.status === 0 && FLOOR_LINE.test(r.stdout) },
    ]),
    { name: 'Node floor: the same in plain Node, one thread', argv: [...inNetns, ...PLAIN_NODE, '-e', NODE_FLOOR, pid], ok: (r) => r.status === 0 && FLOOR_LINE.test(r.stdout) },
  ];
  const at = (prefix) => commands.findIndex((c) => c.name.startsWith(prefix));
  const check = (c, r) => {
    if (!c.ok(r)) throw new Error(`${c.argv.join(' ')} did not do its job (exit ${r.status}):\n${r.stderr.slice(0, 2000)}`);
  };

  const load = [loadavg()[0]];
  sampleTables(pid);
  console.error(`bench: ${which}: pid ${pid} holds ${holder.fds} fds; its namespace: ${describeTables()}; ${ROUNDS} rounds`);
  for (const c of commands) check(c, run(c.argv)); // warm-up (page cache, lsof's first stat of each path): not counted
  const times = alternatingRounds(commands, ROUNDS, check, (round) => {
    sampleTables(pid);
    process.stderr.write(`bench: ${which}: round ${round + 1}/${ROUNDS}\r`);
  });
  const rss = peakRssRounds(commands, RSS_ROUNDS);
  load.push(loadavg()[0]);
  process.stderr.write('\n');
  holder.child.stdin.end();
  holder.child.kill();
  holders.delete(holder);

  const med = times.map(median);
  // Pairs of the same round: on a shared machine the speed drifts, a round's two runs drift together.
  // Command i's time over command j's (fdleak diagnose's by default), the median of the rounds' ratios.
  const paired = (i, j = 0) => median(times[i].map((t, r) => t / times[j][r]));
  return [
    `**${which}**: one process holding ${holder.fds} fds, in ${OWN_NETNS ? 'a network namespace of its own' : 'the shared network namespace'} ` +
      `(rows in its tables: ${describeTables()}); ${ROUNDS} interleaved rounds, medians; load average ${load.map((l) => l.toFixed(1)).join(' -> ')}.`,
    '',
    '| command | median | min | max | median / fdleak diagnose | paired by round | peak RSS |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...commands.map((c, i) => {
      const ratio = i === 3 ? '' : `${(med[i] / med[0]).toFixed(2)}x`; // --version: a start-up time, not a ratio
      const pairedRatio = i === 3 || i === 0 ? '' : `${paired(i).toFixed(2)}x`;
      return `| ${c.name} | ${secs(med[i])} | ${secs(Math.min(...times[i]))} | ${secs(Math.max(...times[i]))} | ${ratio} | ${pairedRatio} | ${mib(rss[i])} |`;
    }),
    '',
    `${which}: lsof / fdleak diagnose: ${(med[1] / med[0]).toFixed(2)}x (target >= 1.5x; paired by round ${paired(1).toFixed(2)}x); fdleak diagnose peak RSS ${mib(rss[0])} (target < 150 MiB); ` +
      `fdleak --version ${med[3].toFixed(0)} ms (target < 100 ms).`,
    floors(at('C floor'), at('Node floor')),
  ];

  /** The floors' line: fdleak against each, and lsof against the Node floor (what any Node program gets here). */
  function floors(c, node) {
    const lsofOverNode = `lsof / Node floor ${(med[1] / med[node]).toFixed(2)}x (paired ${paired(1, node).toFixed(2)}x)`;
    if (c < 0) return `${which}: fdleak diagnose / Node floor ${paired(0, node).toFixed(2)}x paired; ${lsofOverNode}; no C floor (gcc missing).`;
    return `${which}: fdleak diagnose / C floor ${paired(0, c).toFixed(2)}x, / Node floor ${paired(0, node).toFixed(2)}x; Node floor / C floor ${paired(node, c).toFixed(2)}x; ${lsofOverNode} (paired by round).`;
  }
}
