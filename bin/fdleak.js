#!/bin/sh
':' //; unset NODE_EXTRA_CA_CERTS; exec node "$0" "$@"
// Line 2 is sh to the shell and a string plus a comment to node: run as a command, the file re-runs
// itself under node without NODE_EXTRA_CA_CERTS, which makes Node 20 parse that CA bundle before any
// JS runs (42 ms of every start here) for TLS that fdleak never does. `node bin/fdleak.js` works too.
// For `diagnose <pid>` and `scan`, prefetch.js first: a worker starts on /proc while main.js loads.
const argv = process.argv.slice(2);
const prefetch = argv.includes('diagnose') || argv.includes('scan') ? (await import('../dist/cli/prefetch.js')).prefetchFor(argv) : undefined;
const { main } = await import('../dist/cli/main.js');
process.exitCode = await main(argv, undefined, prefetch);
