#!/usr/bin/env node
/**
 * `fdleak diagnose` against `lsof -n -P -p` and `ss -tanp` on one process holding ~15,000 fds.
 *
 *   npm run bench:diagnose -- [--rounds 9] [--fds 15000] [--bin bin/fdleak.js]
 *
 * A python3 holder raises its soft RLIMIT_NOFILE to the hard limit and opens a mix of fds:
 * unbound sockets (orphans), loopback TCP connections (ESTABLISHED pairs, CLOSE_WAIT), unix
 * socketpairs, pipes and files. Then every round runs each command once, in a rotating order so no
 * command always goes first, and the table reports medians: a shared, noisy machine makes single
 * times meaningless. Peak RSS comes from /usr/bin/time -f %M when it is installed. Loopback only.
 * The holder exits when its stdin closes, so it never outlives the bench.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '9' },
    fds: { type: 'string', default: '15000' },
    bin: { type: 'string', default: join(root, 'bin/fdleak.js') },
  },
});
const rounds = Number(args.rounds);
const wanted = Number(args.fds);

// The holder: counts are fractions of --fds so a smaller run keeps the same mix.
const HOLDER = String.raw`
import os, resource, socket, sys
total = int(sys.argv[1])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
want = total + 64
if hard != resource.RLIM_INFINITY and want > hard:
    sys.exit("hard RLIMIT_NOFILE is %d: cannot hold %d fds" % (hard, total))
if soft != resource.RLIM_INFINITY and soft < want:
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard if hard != resource.RLIM_INFINITY else want, hard))
keep = []
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(128)
keep.append(listener)
def connect():
    c = socket.create_connection(listener.getsockname())
    s, _ = listener.accept()
    return c, s
# ESTABLISHED pairs, both ends held.
for _ in range(total * 6 // 100 // 2):
    keep.extend(connect())
# CLOSE_WAIT: the server end closes, the client end is never closed (the leak close-wait finds).
for _ in range(total * 3 // 100):
    c, s = connect()
    s.close()
    keep.append(c)
# Unix socketpairs.
for _ in range(total * 6 // 100 // 2):
    keep.extend(socket.socketpair())
# Unbound sockets: in no table of the namespace (orphan-sockets).
for _ in range(total * 30 // 100):
    keep.append(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
# Pipes.
for _ in range(total * 10 // 100 // 2):
    r, w = os.pipe()
    keep.extend([r, w])
# Files: the rest, over a handful of paths.
paths = ["/dev/null", "/dev/zero", "/etc/hostname", "/etc/passwd", sys.executable]
have = len(os.listdir("/proc/self/fd"))
i = 0
while have < total:
    keep.append(open(paths[i % len(paths)], "rb"))
    i += 1
    have += 1
print(os.getpid(), len(os.listdir("/proc/self/fd")), flush=True)
sys.stdin.read()
`;

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;

/** Runs argv once; wall time in ms (hrtime around the whole child, /usr/bin/time included) and peak RSS in KiB. */
function run(argv) {
  const full = TIME === null ? argv : [TIME, '-f', '@@rss=%M', ...argv];
  const start = process.hrtime.bigint();
  const r = spawnSync(full[0], full.slice(1), { encoding: 'utf8', maxBuffer: 256 << 20, env: { ...process.env, NO_COLOR: '1' } });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.error) throw r.error;
  const m = /@@rss=(\d+)/.exec(r.stderr);
  const stderr = r.stderr.replace(/@@rss=\d+\n?/, '').replace(/^Command exited with non-zero status \d+\n/m, '');
  return { ms, rssKiB: m === null ? null : Number(m[1]), status: r.status, stdout: r.stdout, stderr };
}

function startHolder() {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', ['-c', HOLDER, String(wanted)], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`holder exited early (code ${code})`)));
    child.stdout.on('data', (d) => {
      out += d;
      const m = /^(\d+) (\d+)\n/.exec(out);
      if (m) resolve({ child, pid: Number(m[1]), fds: Number(m[2]) });
    });
  });
}

const version = (argv) => {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
  return r.error ? 'missing' : `${r.stdout}${r.stderr}`.split('\n').find((l) => /\d/.test(l))?.trim() ?? '?';
};

if (!existsSync(join(root, 'dist'))) {
  console.error('bench: dist/ is missing: run `npm run build` (or `npm install`) first');
  process.exit(2);
}

const holder = await startHolder();
holder.child.removeAllListeners('exit');
const stop = () => holder.child.stdin.end();
process.on('exit', () => holder.child.kill());
process.on('SIGINT', () => { stop(); process.exit(130); });

try {
  const pid = String(holder.pid);
  const commands = [
    { name: '`fdleak diagnose PID`', argv: [process.execPath, args.bin, 'diagnose', pid], ok: (r) => r.status <= 1 && /orphan-sockets/.test(r.stdout) },
    { name: '`lsof -n -P -p PID`', argv: ['lsof', '-n', '-P', '-p', pid], ok: (r) => r.status === 0 && r.stdout.split('\n').length > holder.fds },
    { name: '`ss -tanp`', argv: ['ss', '-tanp'], ok: (r) => r.status === 0 && r.stdout.includes('CLOSE-WAIT') },
    { name: '`fdleak --version`', argv: [process.execPath, args.bin, '--version'], ok: (r) => r.status === 0 && /^\d+\.\d+\.\d+/.test(r.stdout) },
  ];
  const times = commands.map(() => []);
  const rss = commands.map(() => []);
  console.error(`bench: holder pid ${pid} holds ${holder.fds} fds; ${rounds} rounds`);
  // One warm-up round (page cache, lsof's first stat of each path), not counted.
  for (const c of commands) {
    const r = run(c.argv);
    if (!c.ok(r)) throw new Error(`${c.argv.join(' ')} failed (exit ${r.status}):\n${r.stderr.slice(0, 2000)}`);
  }
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < commands.length; k++) {
      const i = (k + round) % commands.length;
      const r = run(commands[i].argv);
      if (!commands[i].ok(r)) throw new Error(`${commands[i].argv.join(' ')} failed (exit ${r.status}):\n${r.stderr.slice(0, 2000)}`);
      times[i].push(r.ms);
      if (r.rssKiB !== null) rss[i].push(r.rssKiB);
    }
    process.stderr.write(`bench: round ${round + 1}/${rounds}\r`);
  }
  process.stderr.write('\n');

  const med = times.map(median);
  const fdleakMs = med[0];
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const cpus = (readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.*)$/m) ?? [])[1] ?? 'unknown cpu';
  const ncpu = readFileSync('/proc/cpuinfo', 'utf8').match(/^processor\s*:/gm)?.length ?? '?';
  const lines = [
    `fdleak ${pkg.version}, Node ${process.versions.node}, Linux ${release()}, ${ncpu} x ${cpus}; ${version(['lsof', '-v'])}; ${version(['ss', '-V'])}`,
    `one process holding ${holder.fds} fds (soft limit raised to the hard limit): ${commands.length} commands x ${rounds} interleaved rounds, medians`,
    '',
    '| command | median | min | max | vs fdleak diagnose | peak RSS (median) |',
    '|---|---:|---:|---:|---:|---:|',
  ];
  commands.forEach((c, i) => {
    const ratio = i === 0 ? '1.00x' : c.name.includes('--version') ? '' : `${(med[i] / fdleakMs).toFixed(2)}x`;
    const mem = rss[i].length === 0 ? 'n/a' : `${(median(rss[i]) / 1024).toFixed(0)} MiB`;
    lines.push(`| ${c.name} | ${(med[i] / 1000).toFixed(3)} s | ${(Math.min(...times[i]) / 1000).toFixed(3)} s | ${(Math.max(...times[i]) / 1000).toFixed(3)} s | ${ratio} | ${mem} |`);
  });
  lines.push('');
  lines.push(`lsof / fdleak: ${(med[1] / fdleakMs).toFixed(2)}x (target >= 1.5x); fdleak peak RSS ${rss[0].length ? `${(Math.max(...rss[0]) / 1024).toFixed(0)} MiB max` : 'n/a'} (target < 250 MiB); \`fdleak --version\` ${med[3].toFixed(0)} ms (target < 100 ms)`);
  console.log(lines.join('\n'));
} finally {
  stop();
}
