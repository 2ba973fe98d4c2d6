#!/usr/bin/env node
// prefetch.js first: for `diagnose <pid>` a worker starts reading /proc/<pid> while main.js loads.
import { prefetchFor } from '../dist/cli/prefetch.js';
const argv = process.argv.slice(2);
const prefetch = prefetchFor(argv) ?? null;
const { main } = await import('../dist/cli/main.js');
process.exitCode = await main(argv, undefined, prefetch);
