/**
 * The start-up snapshot's entry: the build (scripts/build-snapshot.mjs) runs this bundle
 * (dist/cli/snapshot.cjs: the CLI in one CommonJS file) under `node --build-snapshot`, and
 * bin/fdleak.js starts `diagnose`, `scan` and `analyze` from the heap it leaves
 * (`node --snapshot-blob dist/diagnose.blob`, dist/fdleak.blob for scan and analyze: two blobs of
 * this bundle made with different V8 flags, see scripts/build-snapshot.mjs) instead of loading ~30
 * ES modules.
 *
 * Why: Node 20 has no compile cache for ES modules, and loading them is CPU on the main thread
 * before anything is read. Measured on the crowded diagnose load (bench/diagnose.mjs --case
 * crowded: 15,000 fds, 24,811 TCP rows), --debug timelines: the main thread starts at 35-49 ms
 * instead of 65-76 ms; CPU of all threads 306-354 ms instead of 359-405 ms.
 *
 * What the snapshot holds is what this module and its imports, and the command modules warmed
 * below, did when it was built: their module bodies, nothing of a run. So no module evaluated here
 * may read the environment, the terminal, the clock or the process at load time (cli/io.ts looks
 * at its streams when asked); chalk, which does at load time, is imported only by the reporters,
 * at run time. A node: built-in is taken with process.getBuiltinModule, never import(): a process
 * started from a snapshot has no import() (ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING).
 *
 * At run time it runs launch.ts, as bin/fdleak.js does after its launcher line (which starts node
 * from the snapshot only for those three commands, see there).
 */
import { startupSnapshot } from 'node:v8';
import { launch } from './launch.js';

/** The command modules a run of the three commands loads at once: evaluated into the snapshot. */
async function warm(): Promise<void> {
  await import('./commands/diagnose.js');
  await import('./scan-action.js');
  await import('./commands/scan.js');
  await import('./analyze-action.js');
  await import('./commands/analyze.js');
}

if (startupSnapshot.isBuildingSnapshot()) {
  // process.argv at run time: [node, bin/fdleak.js, ...args] (the launcher passes its own path first).
  startupSnapshot.setDeserializeMainFunction(() => void launch(process.argv.slice(2)));
  void warm(); // settled before the snapshot is taken: node runs the event loop dry first
}
