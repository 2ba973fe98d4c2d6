#!/usr/bin/env node
/**
 * The last step of `npm run build`: dist/fdleak.blob, the start-up snapshot bin/fdleak.js starts
 * diagnose, scan and analyze from (src/cli/snapshot.ts says what it holds and why), made by the
 * node running the build, the one dist/node names and the launcher runs.
 *
 * The blob is tried before it is kept: `--version`, and `analyze` of a two-line capture, must
 * print what the ES modules print. Where anything fails (a node without --build-snapshot, a run
 * that differs), the blob is removed and the build goes on: bin/fdleak.js then loads the ES
 * modules, as it does for the other commands, and one line on stderr says why.
 * dist/snapshot.path holds the bundle's absolute path: the launcher uses the blob only where that
 * file is there (the snapshot names its workers and package.json by that path).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const bundle = join(root, 'dist', 'cli', 'snapshot.cjs');
const blob = join(root, 'dist', 'fdleak.blob');
const pathFile = join(root, 'dist', 'snapshot.path');
const bin = join(root, 'bin', 'fdleak.js');
rmSync(blob, { force: true });
rmSync(pathFile, { force: true });

/** `node ...args` with the environment bin/fdleak.js gives node; { status, stdout, stderr }. */
function node(args) {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  delete env.NODE_OPTIONS;
  return spawnSync(process.execPath, args, { encoding: 'utf8', env, timeout: 60_000 });
}

function giveUp(why) {
  rmSync(blob, { force: true });
  rmSync(pathFile, { force: true });
  console.error(`build-snapshot: no start-up snapshot (${why}); fdleak loads its ES modules instead`);
  process.exit(0);
}

const built = node(['--snapshot-blob', blob, '--build-snapshot', bundle]);
if (built.error !== undefined || built.status !== 0) {
  giveUp(`node --build-snapshot: ${built.error?.message ?? `exit ${built.status}: ${built.stderr.trim().split('\n').pop()}`}`);
}

// The same answers from the snapshot and from the ES modules.
const dir = mkdtempSync(join(tmpdir(), 'fdleak-snapshot-'));
try {
  const capture = join(dir, 'lsof.txt');
  writeFileSync(capture, 'COMMAND PID USER FD TYPE DEVICE SIZE/OFF NODE NAME\npython3 4242 root 3u sock 0,8 0t0 99 protocol: TCP\n');
  for (const args of [['--version'], ['analyze', capture, '--json']]) {
    const fromBlob = node(['--snapshot-blob', blob, bin, ...args]);
    const fromModules = node([bin, ...args]);
    const same = fromBlob.status === fromModules.status && fromBlob.stdout === fromModules.stdout && fromBlob.stdout !== '';
    if (!same) giveUp(`\`fdleak ${args.join(' ')}\` from the snapshot: exit ${fromBlob.status}, ${JSON.stringify(fromBlob.stderr.slice(0, 200))}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
writeFileSync(pathFile, `${bundle}\n`);
