/**
 * The CLI's entry (bin/fdleak.js): runs argv and returns the exit code.
 *
 * A plain `diagnose <pid> [its options]` is run without loading commander: read with the option
 * table (options.ts diagnoseCall, the reading the start-up prefetch already does), it goes straight
 * to the action commander would have called (diagnose-action.ts), with the same options object.
 * Anything else (help, version, an error in argv, another command) goes through commander
 * (program.ts), which prints its help and its errors. Why: loading commander and building the
 * program is CPU on the main thread before diagnose can start (importing the old commander bundle:
 * 16-20 ms of CPU, 6 runs). Measured, `diagnose --json` of a `sleep` in a namespace of its own, 15
 * paired runs against the commander-only build, load average 9.9 on 2 cores: CPU of all threads
 * 75 instead of 83 ms (median ratio 0.90), wall ratio 0.89; of the 15,000-fd perfload process, the
 * ~8 ms are within the noise of its ~500 ms. test/cli/main.test.ts runs a corpus of argv both ways
 * and compares.
 * `fdleak --version` (or -V) alone prints the version without commander too.
 * A plain `scan` (any of its options) takes the same way (options.ts scanCall, scan-action.ts): on
 * the bench load its main thread walks fds beside the helper thread from the moment its modules are
 * in, so commander's load was that much less of the walk done on this thread.
 * A plain `analyze [files...]` too (options.ts analyzeCall, analyze-action.ts): with a large
 * capture its main thread reads the first part of the file beside a worker reading the rest, and a
 * small capture is read in about as long as commander takes to load.
 */
import { InputError } from '../errors.js';
import type { State } from './diagnose-action.js';
import { diagnoseAction } from './diagnose-action.js';
import type { Io } from './io.js';
import { processIo } from './io.js';
import { analyzeCall, diagnoseCall, scanCall } from './options.js';
import type { Prefetch } from './prefetch.js';

/** How main reads argv: `commander: true` always through commander (tests compare the two ways). */
export interface MainOptions {
  commander?: boolean;
}

/**
 * Runs the CLI; returns the exit code (0 clean, 1 findings at --fail-on, 2 usage/input/internal error).
 * `prefetch`: what bin/fdleak.js already started for `diagnose <pid>` or `scan` (prefetch.ts).
 */
export async function main(argv: readonly string[], io: Io = processIo, prefetch?: Prefetch, how: MainOptions = {}): Promise<number> {
  const state: State = { code: 0, debug: argv.includes('--debug'), prefetch };
  try {
    // `fdleak --version` alone: what commander would print, without loading it (~25 ms here, the
    // most of what the command costs beyond node's own start).
    if (how.commander !== true && argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
      const { version } = await import('./version.js');
      io.out(`${version()}\n`);
      return 0;
    }
    const call = how.commander === true ? undefined : diagnoseCall(argv);
    const scanning = how.commander === true || call !== undefined ? undefined : scanCall(argv);
    const analyzing = how.commander === true || call !== undefined || scanning !== undefined ? undefined : analyzeCall(argv);
    if (call !== undefined) {
      state.debug = call.debug; // as commander's preAction hook sets it
      await diagnoseAction(call.pidText, call.opts, io, state);
    } else if (scanning !== undefined) {
      state.debug = scanning.debug;
      const { scanAction } = await import('./scan-action.js');
      await scanAction(scanning.opts, io, state);
    } else if (analyzing !== undefined) {
      state.debug = analyzing.debug;
      const { analyzeAction } = await import('./analyze-action.js');
      await analyzeAction(analyzing.files, analyzing.opts, io, state);
    } else {
      const { runProgram } = await import('./program.js');
      return await runProgram(argv, io, state);
    }
    return state.code;
  } catch (error) {
    if (error instanceof InputError) {
      io.err(`fdleak: ${error.message}\n`);
      if (state.debug) io.err(`${error.stack}\n`);
      return 2;
    }
    io.err(`fdleak: internal error: ${error instanceof Error ? error.message : String(error)} (rerun with --debug for details)\n`);
    if (state.debug && error instanceof Error) io.err(`${error.stack}\n`);
    return 2;
  }
}
