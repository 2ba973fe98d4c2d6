/**
 * The bundle `bin/fdleak.js` runs: src/cli/main.ts -> dist/cli/main.js, the rest in dist/chunks/.
 *
 * Why: start-up is a large part of a CLI run, and Node's ESM loader resolves, reads and links every
 * module file on its own (zod alone is ~60 files): one bundle with its dependencies inside loads
 * ~70 ms sooner for `fdleak diagnose`. Each command is a dynamic import in src/cli/main.ts, so it
 * stays a chunk of its own, and commander too (src/cli/program.ts): a plain `fdleak diagnose <pid>` or `fdleak scan`
 * runs without it (src/cli/main.ts); execa is
 * loaded only when ss runs; `diagnose --json` loads neither chalk nor cli-table3. A second entry,
 * src/cli/prefetch.ts -> dist/cli/prefetch.js (node: built-ins only), is what bin/fdleak.js loads
 * first: for `diagnose <pid>` it starts reading /proc/<pid> on a worker before main.js loads
 * (src/live/threads/proc-pid-reader.ts -> dist/cli/proc-pid-reader.cjs, see `reader` below), for
 * `scan` a worker that shares the fd walk: src/live/threads/scan-worker.ts -> dist/cli/scan-worker.cjs
 * (see `scanWorker` below). `analyze` of a large lsof file reads its second half on
 * src/capture/tail-worker.ts -> dist/cli/analyze-worker.cjs (see `analyzeWorker` below).
 *
 * The build runs `tsc -p tsconfig.json` first (the type check; it also emits the file-per-module
 * tree into dist/), then this overwrites dist/cli/main.js, dist/cli/prefetch.js and dist/cli/launch.js
 * (src/cli/launch.ts: what bin/fdleak.js runs, loading those two in turn) with the bundled
 * entries. Whichever of the two ran last, they are current. Chunks sit one level down, like main.js, so
 * `new URL('../../package.json', import.meta.url)` finds package.json from any of them.
 */
import { rmSync, writeFileSync } from 'node:fs';

const cleanChunks = {
  name: 'clean-chunks',
  buildStart() {
    rmSync(new URL('dist/chunks', import.meta.url), { recursive: true, force: true });
  },
};

/**
 * dist/node: the absolute path of the node running this build (at `npm install`, the node npm ran),
 * the one bin/fdleak.js's launcher line runs: a `node` earlier on root's PATH is never picked up.
 */
const pinNode = {
  name: 'pin-node',
  writeBundle() {
    writeFileSync(new URL('dist/node', import.meta.url), `${process.execPath}\n`);
  },
};

const main = {
  input: {
    main: 'src/cli/main.ts',
    prefetch: 'src/cli/prefetch.ts',
    launch: 'src/cli/launch.ts',
  },
  platform: 'node',
  tsconfig: 'tsconfig.json',
  plugins: [cleanChunks, pinNode],
  output: {
    dir: 'dist',
    format: 'esm',
    entryFileNames: 'cli/[name].js',
    chunkFileNames: 'chunks/[name]-[hash].js',
    // Unminified: --debug stack traces stay readable, and minifying measured no faster.
    sourcemap: true,
  },
};

/**
 * The diagnose worker (src/live/threads/proc-pid-reader.ts -> dist/cli/proc-pid-reader.cjs) as
 * CommonJS: a worker thread starts a CommonJS file ~5 ms sooner than an ES module (measured here:
 * median 45 vs 68 ms, min 21.5 vs 27.4 ms, 40 starts each on the loaded 2-core box), and it races
 * the main thread's module loading. node: built-ins only, so it is one file, no chunk.
 */
const reader = {
  input: { 'proc-pid-reader': 'src/live/threads/proc-pid-reader.ts' },
  platform: 'node',
  tsconfig: 'tsconfig.json',
  output: { dir: 'dist', format: 'cjs', entryFileNames: 'cli/[name].cjs', sourcemap: true },
};

/**
 * scan's helper thread (src/live/threads/scan-worker.ts -> dist/cli/scan-worker.cjs), CommonJS for
 * the same reason, and a build of its own: one entry, so its modules shared with the reader
 * (sockstat.ts) are inlined rather than split into a chunk. Measured here, from new Worker() to its
 * 'up' message, 15 alternating starts each on the loaded 2-core box (load ~6): CPU time of the
 * process median 55 ms as an ES module, 38 ms as CommonJS; wall median 114 vs 89 ms. In `fdleak
 * scan` it comes up that much sooner and begins its share of the walk.
 */
const scanWorker = { ...reader, input: { 'scan-worker': 'src/live/threads/scan-worker.ts' } };

/**
 * The analyze worker (src/capture/tail.ts: a large lsof capture's second half) the same way, one
 * CommonJS file with the parsers inside: as ES modules with shared chunks it spent ~130 ms loading
 * (compileForInternalLoader, compileSourceTextModule) while the main thread already read its half.
 */
const analyzeWorker = { ...reader, input: { 'analyze-worker': 'src/capture/tail-worker.ts' } };

/**
 * The start-up snapshot's bundle (src/cli/snapshot.ts -> dist/cli/snapshot.cjs): the whole CLI in
 * one CommonJS file, every dynamic import inlined (a snapshot has no import(): the modules it
 * names are evaluated on first use, as chunks are). scripts/build-snapshot.mjs then runs it under
 * `node --build-snapshot` into dist/diagnose.blob and dist/fdleak.blob (different V8 flags, see
 * there), which bin/fdleak.js starts diagnose, and scan and analyze, from. No source map: stack
 * traces name the bundle's lines, which are readable.
 */
const snapshot = {
  input: { snapshot: 'src/cli/snapshot.ts' },
  platform: 'node',
  tsconfig: 'tsconfig.json',
  output: { dir: 'dist', format: 'cjs', entryFileNames: 'cli/[name].cjs', codeSplitting: false },
};

export default [main, reader, scanWorker, analyzeWorker, snapshot];
