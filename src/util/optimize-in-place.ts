/**
 * Has V8 optimize a hot function on the thread that runs it (--no-concurrent-recompilation) rather
 * than on a background compiler thread, from now on: in a worker started after the call (its
 * isolate takes the flag when it is created: test/live/threads/scan-helper.test.ts checks) and for
 * this thread's next compilations. Called just before starting a second thread that, with this
 * one, keeps both cores busy from start to end (scan's helper, live/threads/scan-helper.ts; a large
 * capture's tail reader, capture/tail.ts): a background compile job then waits for a core while
 * the function it is for (the fd walk, the table parse, the lsof row reader) runs unoptimized.
 * Not called where one thread works alone: with a core free the background compile costs nothing,
 * and the flag measured slower there (a one-thread analyze of a 5 MiB capture: 1.42x wall).
 *
 * Measured:
 * - scan, bench load (15,000 + 11,500 fds, 150 x 200, 35,600 TCP rows; 2 cores; 8 alternating
 *   runs each, --debug timelines, under SCHED_FIFO on a box at load 5-6): the helper's tables step
 *   104-141 ms instead of 155-231, every step done at 279-322 ms instead of 307-396 (medians ~287
 *   and ~349). The table parse alone, beside a process reading the same table: 94 ms the first time
 *   instead of 12-18 ms once optimized; 18 ms with the flag.
 * - analyze, 1M-line socket-heavy capture read by two threads: set before the worker starts, as
 *   here (it takes effect in the worker's isolate; the main isolate seems to keep the default). On
 *   the command line as well (node --no-concurrent-recompilation, 7 pairs, load ~1.5-1.8) it gave
 *   a further CPU 0.84x, wall 0.945x, but the launcher cannot know the split up front.
 *
 * No import: the start-up bundle (cli/prefetch.ts) loads it before anything else.
 */
export function optimizeInPlace(): void {
  process.getBuiltinModule('node:v8').setFlagsFromString('--no-concurrent-recompilation');
}
