#!/usr/bin/env node
// For `diagnose <pid>`, prefetch.js first: a worker starts reading /proc/<pid> while main.js loads.
const argv = process.argv.slice(2);
const prefetch = argv.includes('diagnose') ? (await import('../dist/cli/prefetch.js')).prefetchFor(argv) : undefined;
const { main } = await import('../dist/cli/main.js');
process.exitCode = await main(argv, undefined, prefetch);
