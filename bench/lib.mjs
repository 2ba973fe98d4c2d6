/**
 * What the benches share: timing a command, its peak RSS, medians, and starting the python3 holder
 * whose first line of output is "<pid> <fds held>" (bench/diagnose.mjs, bench/analyze.mjs); for
 * every bench, the plain node its Node rows run (PLAIN_NODE), bench/*.c built (compiled) and, for its
 * machine line, what a fresh page of memory costs here (freshPageCost).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** Run as an installed command runs it: executed, so its launcher line applies. */
export const BIN = join(ROOT, 'bin', 'fdleak.js');
const ENV = { ...process.env, NO_COLOR: '1' };

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/**
 * A plain node, run as bin/fdleak.js's launcher line runs fdleak: without NODE_EXTRA_CA_CERTS (Node
 * 20 parses that bundle at start-up: ~40 ms here). For the benches' Node floors and Node walks, which
 * measure Node's own cost: argv to put the node's arguments after.
 */
export const PLAIN_NODE = ['env', '-u', 'NODE_EXTRA_CA_CERTS', process.execPath];

/** One run: wall time in ms, exit status, output. */
export function run(argv) {
  const start = process.hrtime.bigint();
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', maxBuffer: 256 << 20, env: ENV });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.error) throw r.error;
  return { ms, status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Peak RSS of one run in KiB, from /usr/bin/time -f %M; null without it. */
export function peakRss(argv) {
  if (!existsSync('/usr/bin/time')) return null;
  const r = spawnSync('/usr/bin/time', ['-f', '@@rss=%M', ...argv], { encoding: 'utf8', maxBuffer: 256 << 20, env: ENV });
  const m = /@@rss=(\d+)/.exec(r.stderr ?? '');
  return m === null ? null : Number(m[1]);
}

/** Starts `python3 -c script ...args` and resolves once it printed "<pid> <fds>"; `what` names it in errors. */
export function startHolder(script, args, what) {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', ['-c', script, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    const early = (code) => reject(new Error(`the ${what} exited early (code ${code})`));
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

/** Peak RSS (KiB) of each command, `rounds` runs each, in turn: one array per command. */
export function peakRssRounds(commands, rounds) {
  const rss = commands.map(() => []);
  for (let round = 0; round < rounds; round++) {
    commands.forEach((c, i) => {
      const kib = peakRss(c.argv);
      if (kib !== null) rss[i].push(kib);
    });
  }
  return rss;
}

/**
 * Python for a holder: `keep` (fds held), a loopback `listener`, and `connect()` -> (client, server),
 * from the leakers' shared module (test/helpers/leakers/leaker.py `loopback`).
 */
export const PY_LOOPBACK_PAIRS = `sys.path.insert(0, ${JSON.stringify(join(ROOT, 'test', 'helpers', 'leakers'))})
from leaker import loopback
keep = []
listener, connect = loopback(keep)`;

/**
 * `rounds` rounds of every command, the order rotated each round (no command always runs first):
 * each command's times in ms. `check(command, result)` throws when a run did not do its job;
 * `after(round)` runs at the end of each round.
 */
export function alternatingRounds(commands, rounds, check, after = () => {}) {
  const times = commands.map(() => []);
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < commands.length; k++) {
      const i = (k + round) % commands.length;
      const r = run(commands[i].argv);
      check(commands[i], r);
      times[i].push(r.ms);
    }
    after(round);
  }
  return times;
}

/**
 * "first touch of a fresh page: N µs (64 MiB: M ms; with huge pages: H ms)", measured by
 * bench/page-cost.c (compiled into bench/out/ with gcc); null where it cannot be built or run.
 * Every bench prints it beside its machine line: on a VM whose free memory goes back to the host at
 * once, this cost (2026-12-04: ~12 µs, 26x what huge pages cost) moves every ratio against lsof, awk
 * or the C floor, which touch far fewer pages than a Node process.
 */
export function freshPageCost() {
  const probe = compiled('page-cost');
  if (probe === null) return null;
  try {
    const r = spawnSync(probe, [], { encoding: 'utf8', timeout: 30_000 });
    const m = /^([\d.]+) ([\d.]+) ([\d.]+)$/m.exec(r.stdout ?? '');
    return m === null ? null : `first touch of a fresh page: ${m[1]} µs (64 MiB: ${m[2]} ms; with huge pages: ${m[3]} ms; bench/page-cost.c)`;
  } catch {
    return null;
  }
}

/** bench/NAME.c compiled into bench/out/NAME (gcc -O2); its path, or null where gcc cannot build it. */
export function compiled(name) {
  const out = join(ROOT, 'bench', 'out');
  const binary = join(out, name);
  try {
    mkdirSync(out, { recursive: true });
    const cc = spawnSync('gcc', ['-O2', '-Wall', '-o', binary, join(ROOT, 'bench', `${name}.c`)], { encoding: 'utf8' });
    return cc.status === 0 ? binary : null;
  } catch {
    return null;
  }
}
