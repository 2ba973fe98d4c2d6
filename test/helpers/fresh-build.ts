/**
 * vitest globalSetup: tests that run the CLI (`node bin/fdleak.js`) or its worker files run dist/,
 * so dist/ must be the build of the sources under test, never a stale one. Before any test: if a
 * bundle entry is missing, or any source of the build (src/, bin/, package.json, the lockfile,
 * tsconfig.json, rolldown.config.mjs) is newer than the oldest bundle entry, `npm run build` runs
 * (and a failed build fails the run). After `npm test`, which builds first, this finds dist/
 * current and costs a walk of src/'s mtimes; `npx vitest run one.test.ts` after an edit builds.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BUNDLES = ['main.js', 'prefetch.js', 'launch.js', 'scan-worker.cjs', 'proc-pid-reader.cjs', 'snapshot.cjs'].map((n) => `dist/cli/${n}`);
const SOURCES = ['src', 'bin', 'scripts', 'package.json', 'package-lock.json', 'tsconfig.json', 'rolldown.config.mjs'];

/** Newest mtime below `path` (a file or a directory tree), and which file has it. */
function newest(path: string): { mtime: number; path: string } {
  const st = statSync(path);
  if (!st.isDirectory()) return { mtime: st.mtimeMs, path };
  let best = { mtime: 0, path };
  for (const name of readdirSync(path)) {
    const n = newest(join(path, name));
    if (n.mtime > best.mtime) best = n;
  }
  return best;
}

/** Why dist/ must be rebuilt, or undefined when it is current. */
export function staleReason(root = ROOT): string | undefined {
  let built = Number.POSITIVE_INFINITY;
  for (const bundle of BUNDLES) {
    try {
      built = Math.min(built, statSync(join(root, bundle)).mtimeMs);
    } catch {
      return `${bundle} is missing`;
    }
  }
  for (const source of SOURCES) {
    const n = newest(join(root, source));
    if (n.mtime > built) return `${n.path.slice(root.length)} is newer than the build`;
  }
  return undefined;
}

export default function setup(): void {
  const reason = staleReason();
  if (reason === undefined) return;
  process.stderr.write(`fresh-build: ${reason}: running npm run build\n`);
  const r = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error(`npm run build failed (exit ${r.status}): the tests would run a stale dist/`);
  const still = staleReason();
  if (still !== undefined) throw new Error(`dist/ still stale after npm run build: ${still}`);
}
