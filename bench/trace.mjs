#!/usr/bin/env node
/**
 * Overhead of `fdleak trace` on the tracee, and fdleak's own memory over a long trace.
 *
 *   npm run build && node bench/trace.mjs [rps] [--server c|node] [--rounds 3] [--seconds 5]
 *   node bench/trace.mjs memory [--seconds 60] [--rate 5000]
 *
 * rps: a small loopback HTTP server (c: test/trace/programs/http-ok.c built with gcc -g -O2; node:
 * one `http.createServer` answering "ok"; both by default) and a client in
 * this process making requests over a new connection each (agent: false; 4 in flight), so every
 * request costs the server an accept4 and a close: the syscalls fdleak traces (and unwinds).
 * Each round measures requests/s for --seconds untraced, then for --seconds while
 * `fdleak trace <server pid>` is attached (measured from the moment TracerPid is set), alternating;
 * medians and their ratio are printed. Loopback only; the server is killed at the end.
 *
 * memory: test/trace/programs/churn.c (built with gcc -g) asked to open and close --rate fds a
 * second, traced for --seconds; fdleak's VmRSS is sampled every second and printed with the rate
 * the tracee actually reached under trace.
 *
 * On a shared 2-core VM numbers are noisy: quote medians, with the caveat.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, ROOT, median } from './lib.mjs';

const args = process.argv.slice(2);
const mode = args[0] === 'memory' ? 'memory' : 'rps';
const opt = (name, dflt) => { const i = args.indexOf(`--${name}`); return i >= 0 ? Number(args[i + 1]) : dflt; };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const status = (pid) => { try { return readFileSync(`/proc/${pid}/status`, 'utf8'); } catch { return ''; } };
const tracerOf = (pid) => Number(/^TracerPid:\s*(\d+)/m.exec(status(pid))?.[1] ?? 0);
const children = [];
const cleanup = () => { for (const c of children) { try { c.kill('SIGKILL'); } catch { /* gone */ } } };
process.on('exit', cleanup);
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => { cleanup(); process.exit(130); });
setTimeout(() => { console.error('bench/trace: gave up after 15 minutes'); process.exit(1); }, 15 * 60_000).unref();

function startFdleak(argv) {
  const child = spawn(process.execPath, [BIN, ...argv], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, NO_COLOR: '1' } });
  children.push(child);
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  const done = new Promise((resolve) => child.once('close', (code) => resolve({ code, out })));
  return { child, done };
}

function startServer(kind) {
  if (kind === 'node') {
    return spawn(process.execPath, ['-e', `
      const s = require('node:http').createServer((q, r) => r.end('ok'));
      s.listen(0, '127.0.0.1', () => console.log(process.pid + ' ' + s.address().port));`], { stdio: ['ignore', 'pipe', 'inherit'] });
  }
  const dir = mkdtempSync(join(tmpdir(), 'fdleak-bench-'));
  const bin = join(dir, 'http-ok');
  const cc = spawnSync('/usr/bin/gcc', ['-g', '-O2', '-o', bin, join(ROOT, 'test/trace/programs/http-ok.c')], { encoding: 'utf8' });
  if (cc.status !== 0) throw new Error(cc.stderr);
  const child = spawn(bin, [], { stdio: ['ignore', 'pipe', 'inherit'] });
  child.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return child;
}

async function rps(kind) {
  const rounds = opt('rounds', 3);
  const seconds = opt('seconds', 5);
  const server = startServer(kind);
  children.push(server);
  const [pid, port] = await new Promise((resolve) => server.stdout.once('data', (d) => resolve(String(d).trim().split(' ').map(Number))));
  const measure = async (ms) => {
    let n = 0;
    const end = Date.now() + ms;
    const one = () => new Promise((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => { res.resume(); res.on('end', resolve); });
      req.on('error', resolve);
    });
    await Promise.all(Array.from({ length: 4 }, async () => { while (Date.now() < end) { await one(); n++; } }));
    return n / (ms / 1000);
  };
  await measure(1000); // warm-up
  const plain = [];
  const traced = [];
  for (let r = 0; r < rounds; r++) {
    plain.push(await measure(seconds * 1000));
    const run = startFdleak(['trace', String(pid), '--duration', `${seconds + 30}s`, '--json']);
    while (tracerOf(pid) === 0) await sleep(20);
    traced.push(await measure(seconds * 1000));
    run.child.kill('SIGINT');
    const { out } = await run.done;
    const doc = JSON.parse(out);
    console.error(`${kind} round ${r + 1}: untraced ${plain.at(-1).toFixed(0)} req/s, traced ${traced.at(-1).toFixed(0)} req/s (${doc.totals.opened} fds opened, ${doc.totals.closed} closed in the trace)`);
    while (tracerOf(pid) !== 0) await sleep(20);
  }
  const a = median(plain);
  const b = median(traced);
  server.kill('SIGKILL');
  return `| ${kind === 'node' ? 'node http server' : 'C server (http-ok.c)'}: requests/s, median of ${rounds} x ${seconds} s | ${a.toFixed(0)} | ${b.toFixed(0)} | ${(b / a).toFixed(3)} |`;
}

async function memory() {
  const seconds = opt('seconds', 60);
  const rate = opt('rate', 5000);
  const dir = mkdtempSync(join(tmpdir(), 'fdleak-bench-'));
  const bin = join(dir, 'churn');
  const cc = spawnSync('/usr/bin/gcc', ['-g', '-O0', '-o', bin, join(ROOT, 'test/trace/programs/churn.c')], { encoding: 'utf8' });
  if (cc.status !== 0) throw new Error(cc.stderr);
  const tracee = spawn(bin, [String(rate)], { stdio: 'ignore' });
  children.push(tracee);
  const run = startFdleak(['trace', String(tracee.pid), '--duration', `${seconds}s`, '--json']);
  const samples = [];
  const t0 = Date.now();
  const timer = setInterval(() => {
    const m = /^VmRSS:\s*(\d+)/m.exec(status(run.child.pid));
    if (m) samples.push([Math.round((Date.now() - t0) / 1000), Number(m[1])]);
  }, 1000);
  const { out } = await run.done;
  clearInterval(timer);
  rmSync(dir, { recursive: true, force: true });
  const doc = JSON.parse(out);
  const s = doc.window.durationMs / 1000;
  console.log(`asked ${rate} open+close/s; reached ${(doc.totals.opened / s).toFixed(0)}/s under trace: ${doc.totals.opened} opened, ${doc.totals.closed} closed in ${s.toFixed(1)} s, ${doc.totals.events} syscalls`);
  console.log(`fdleak VmRSS (KiB) by second: ${samples.map(([t, k]) => `${t}:${k}`).join(' ')}`);
  const later = samples.filter(([t]) => t >= 5).map(([, k]) => k);
  console.log(`RSS at 5 s ${later[0]} KiB, max after ${Math.max(...later)} KiB, at the end ${later.at(-1)} KiB`);
}

if (mode === 'memory') await memory();
else {
  const kinds = args.includes('--server') ? [args[args.indexOf('--server') + 1]] : ['c', 'node'];
  const rows = [];
  for (const kind of kinds) rows.push(await rps(kind));
  console.log('| loopback HTTP, a new connection per request, 4 in flight | untraced | under fdleak trace | ratio |');
  console.log('|---|---|---|---|');
  for (const row of rows) console.log(row);
}
cleanup();
