/**
 * What a run of the CLI does once node is up: bin/fdleak.js calls it (loading the ES modules), and
 * so does the start-up snapshot (cli/snapshot.ts), from the copy of this code it holds. One place,
 * so that the two ways of starting end the same way.
 */

/**
 * What bin/fdleak.js's launcher line puts first in GLIBC_TUNABLES, two tunables (why: there). Taken off again
 * here, so that the programs fdleak runs (trace's target among them) start with the environment
 * they were given; a user's own setting of the same tunable, after it, stays.
 */
const OUR_TUNABLE = 'glibc.malloc.trim_threshold=16777216:glibc.malloc.hugetlb=1';

/**
 * Status of a run whose stdout reader went away (`fdleak analyze x | head -1`): what a tool killed
 * by SIGPIPE ends with (128 + 13), which node, ignoring that signal, does not get.
 */
export const EXIT_PIPE = 141;

/**
 * A stdout whose reader closed: the next write fails with EPIPE, an 'error' event that nothing
 * handled printed node's stack trace and exited 1 (analyze, rules, --help; seen with `| head -1`).
 * The report cannot be delivered: end quietly, as a tool killed by SIGPIPE. Any other write error
 * is one line on stderr, exit 2. stderr's own errors have nowhere to go.
 */
function onOutputErrors(): void {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(EXIT_PIPE);
    process.stderr.write(`fdleak: cannot write the report: ${error.code ?? error.message}\n`, () => process.exit(2));
  });
  process.stderr.on('error', () => {});
}

/** Runs `argv` (the arguments after the script) and ends the process with its exit code. */
export async function launch(argv: readonly string[]): Promise<void> {
  onOutputErrors();
  const tunables = process.env.GLIBC_TUNABLES;
  if (tunables === OUR_TUNABLE) delete process.env.GLIBC_TUNABLES;
  else if (tunables?.startsWith(`${OUR_TUNABLE}:`)) process.env.GLIBC_TUNABLES = tunables.slice(OUR_TUNABLE.length + 1);
  // For `diagnose <pid>` and `scan`, prefetch.js first: a worker starts on /proc while main.js
  // loads; for `analyze FILE`, on a large file's second half.
  const prefetch = argv.includes('diagnose') || argv.includes('scan') || argv.includes('analyze')
    ? (await import('./prefetch.js')).prefetchFor(argv)
    : undefined;
  const { main } = await import('./main.js');
  const code = await main(argv, undefined, prefetch);
  // A diagnose or a scan is over once its report is written: exit then, once stdout and stderr
  // have taken everything (their callbacks), rather than let node tear down its heap and the second
  // thread first. Measured on a 15,000-fd diagnose (perfload --big 15000), paired runs, time from
  // the report to the parent seeing the exit: median 25 instead of 32 ms (14 pairs, load 7), 16
  // instead of 19-28 ms (two runs of 7, load 2.7); on a scan of perfload's scan load (56,600 fds),
  // from the last write on stdout to the exit under strace -f, 11-12 instead of 25-33 ms (3 runs
  // each, 2026-12-04). Other commands end as before.
  if (argv.includes('diagnose') || argv.includes('scan')) process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
  else process.exitCode = code;
}
