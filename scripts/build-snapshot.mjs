#!/usr/bin/env node
/**
 * The last step of `npm run build`: the start-up snapshots bin/fdleak.js starts diagnose, scan and
 * analyze from (src/cli/snapshot.ts says what they hold and why), made by the node running the
 * build, the one dist/node names and the launcher runs. Two blobs of the same bundle, each made
 * with the V8 flags the launcher runs it with (BLOBS: V8 refuses a snapshot made under other flags,
 * and node then exits 14 with no output); each blob's flags are written beside it
 * (dist/<blob>.flags, one line), where the launcher reads them, so they are said here only.
 *
 * Each blob is tried before it is kept: `--version`, and `analyze` of a two-line capture, must
 * print what the ES modules print. Where anything fails (a node without --build-snapshot, a run
 * that differs), the blobs are removed and the build goes on: bin/fdleak.js then loads the ES
 * modules, as it does for the other commands, and one line on stderr says why.
 * dist/snapshot.path holds the bundle's absolute path: the launcher uses a blob only where that
 * file is there (the snapshot names its workers and package.json by that path).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const bundle = join(root, 'dist', 'cli', 'snapshot.cjs');
const pathFile = join(root, 'dist', 'snapshot.path');
const bin = join(root, 'bin', 'fdleak.js');

/**
 * The blobs, by file name under dist/, and the V8 flags each is made and run with.
 * - fdleak.blob (scan, analyze): V8's defaults.
 * - diagnose.blob: a young generation of 64 MiB (semi-spaces; V8's default starts at 1 MiB and
 *   grows to 16). A diagnose allocates ~40 MB on its main thread in ~150 ms (the fd records, the
 *   socket rows, the rules' indexes) and keeps nearly all of it to the report: in the default
 *   young generation that took 11 scavenges copying the same survivors again and again (17-27 ms
 *   of GC a run, --trace-gc, crowded load below), with 64 MiB none at all.
 *   Measured on the crowded diagnose load (15,000 fds, ~23,800 TCP rows in its namespace), a blob
 *   per setting, interleaved, 21 rounds: wall 0.944x the default's (paired median), 16 MiB
 *   0.98-1.00x, 32 MiB 1.00x; peak RSS 107-128 MiB (default 116-118). Not for analyze: on the 1M-line
 *   socket-heavy capture 64 MiB took 1.045x the time and 296 MiB instead of 157 (its records die
 *   young and a bigger young generation is only more pages touched), 16 MiB 1.024x and 189 MiB.
 */
const BLOBS = [
  { name: 'fdleak.blob', flags: [] },
  { name: 'diagnose.blob', flags: ['--min-semi-space-size=64', '--max-semi-space-size=64'] },
].map((b) => ({ ...b, path: join(root, 'dist', b.name), flagsFile: join(root, 'dist', `${b.name}.flags`) }));

const removeAll = () => {
  for (const b of BLOBS) for (const f of [b.path, b.flagsFile]) rmSync(f, { force: true });
  rmSync(pathFile, { force: true });
};
removeAll();

/** `node ...args` with the environment bin/fdleak.js gives node; { status, stdout, stderr }. */
function node(args) {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  delete env.NODE_OPTIONS;
  return spawnSync(process.execPath, args, { encoding: 'utf8', env, timeout: 60_000 });
}

function giveUp(why) {
  removeAll();
  console.error(`build-snapshot: no start-up snapshot (${why}); fdleak loads its ES modules instead`);
  process.exit(0);
}

for (const { name, flags, path, flagsFile } of BLOBS) {
  const built = node([...flags, '--snapshot-blob', path, '--build-snapshot', bundle]);
  if (built.error !== undefined || built.status !== 0) {
    giveUp(`node --build-snapshot of ${name}: ${built.error?.message ?? `exit ${built.status}: ${built.stderr.trim().split('\n').pop()}`}`);
  }
  writeFileSync(flagsFile, `${flags.join(' ')}\n`);
}

// The same answers from each snapshot, run as the launcher runs it, and from the ES modules.
const dir = mkdtempSync(join(tmpdir(), 'fdleak-snapshot-'));
try {
  const capture = join(dir, 'lsof.txt');
  writeFileSync(capture, 'COMMAND PID USER FD TYPE DEVICE SIZE/OFF NODE NAME\npython3 4242 root 3u sock 0,8 0t0 99 protocol: TCP\n');
  for (const args of [['--version'], ['analyze', capture, '--json']]) {
    const fromModules = node([bin, ...args]);
    for (const { name, flags, path } of BLOBS) {
      const fromBlob = node([...flags, '--snapshot-blob', path, bin, ...args]);
      const same = fromBlob.status === fromModules.status && fromBlob.stdout === fromModules.stdout && fromBlob.stdout !== '';
      if (!same) giveUp(`\`fdleak ${args.join(' ')}\` from ${name}: exit ${fromBlob.status}, ${JSON.stringify(fromBlob.stderr.slice(0, 200))}`);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
writeFileSync(pathFile, `${bundle}\n`);
