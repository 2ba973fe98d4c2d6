#!/bin/sh
':' //; unset NODE_EXTRA_CA_CERTS; f=$0; [ -L "$f" ] && f=$(/usr/bin/readlink -f -- "$f"); d=${f%/*}/..; [ -r "$d/dist/node" ] && read -r n < "$d/dist/node" && [ -x "$n" ] && exec "$n" "$0" "$@"; exec node "$0" "$@"
// Line 2 is sh to the shell and a string plus a comment to node. Run as a command, the file re-runs
// itself under node, in the same process (exec: signals, stdin, exit code and argv are node's), and
// without NODE_EXTRA_CA_CERTS, which makes Node 20 parse that CA bundle before any JS runs (42 ms of
// every start here) for TLS that fdleak never does. Which node: the one that built the package
// (dist/node, written by the build: the node npm ran at install), found next to this file (through
// /usr/bin/readlink -f only where it is a symlink, as npm's bin links are), so a `node` someone put
// first on root's PATH is not run; only where that file or that node is gone, the node of PATH. `node bin/fdleak.js` works too, with the node you name.
// For `diagnose <pid>` and `scan`, prefetch.js first: a worker starts on /proc while main.js loads;
// for `analyze FILE`, on a large file's second half.
const argv = process.argv.slice(2);
const prefetch = argv.includes('diagnose') || argv.includes('scan') || argv.includes('analyze') ? (await import('../dist/cli/prefetch.js')).prefetchFor(argv) : undefined;
const { main } = await import('../dist/cli/main.js');
const code = await main(argv, undefined, prefetch);
// A diagnose is over once its report is written: exit then, once stdout and stderr have taken
// everything (their callbacks), rather than let node tear down its heap and the second thread first.
// Measured on a 15,000-fd diagnose (perfload --big 15000), paired runs, time from the report to the
// parent seeing the exit: median 25 instead of 32 ms (14 pairs, load 7), 16 instead of 19-28 ms
// (two runs of 7, load 2.7). Other commands end as before.
if (argv.includes('diagnose')) process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
else process.exitCode = code;
