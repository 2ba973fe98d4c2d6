#!/bin/sh
':' //; unset NODE_EXTRA_CA_CERTS; export GLIBC_TUNABLES=glibc.malloc.trim_threshold=16777216${GLIBC_TUNABLES:+:$GLIBC_TUNABLES}; f=$0; [ -L "$f" ] && f=$(/usr/bin/readlink -f -- "$f"); d=${f%/*}/..; if [ -r "$d/dist/node" ] && read -r n < "$d/dist/node" && [ -x "$n" ]; then case " $* " in *" diagnose "*|*" scan "*|*" analyze "*) b=$d/dist/fdleak.blob; [ -z "$NODE_OPTIONS" ] && [ "$b" -nt "$n" ] && [ -r "$d/dist/snapshot.path" ] && read -r s < "$d/dist/snapshot.path" && [ -r "$s" ] && exec "$n" --snapshot-blob "$b" "$0" "$@";; esac; exec "$n" "$0" "$@"; fi; exec node "$0" "$@"
// Line 2 is sh to the shell and a string plus a comment to node. Run as a command, the file re-runs
// itself under node, in the same process (exec: signals, stdin, exit code and argv are node's), and
// without NODE_EXTRA_CA_CERTS, which makes Node 20 parse that CA bundle before any JS runs (42 ms of
// every start here) for TLS that fdleak never does, and with malloc's trim threshold raised
// (GLIBC_TUNABLES: why below). Which node: the one that built the package
// (dist/node, written by the build: the node npm ran at install), found next to this file (through
// /usr/bin/readlink -f only where it is a symlink, as npm's bin links are), so a `node` someone put
// first on root's PATH is not run; only where that file or that node is gone, the node of PATH. `node bin/fdleak.js` works too, with the node you name.
// For diagnose, scan and analyze (the word anywhere in argv, as below), that node starts from the
// start-up snapshot the build made (dist/fdleak.blob: src/cli/snapshot.ts, scripts/build-snapshot.mjs)
// rather than loading the ES modules, where the blob is newer than that node (a node upgraded
// since the build would refuse it), NODE_OPTIONS is empty (V8 refuses a snapshot made under other
// V8 flags: --max-old-space-size there, and node exits 14 with no output) and the bundle it was
// made of is still where the build put it (dist/snapshot.path); node then runs the snapshot's own
// copy of the code below, not this file.
// GLIBC_TUNABLES: malloc gives free memory back to the kernel only past 16 MiB at the top of its
// heap, not past 128 KiB. On a VM whose free memory goes back to the host (free page reporting, as
// on the project's 2-core machine), every page malloc gives back and takes again is a fresh page,
// ~10-13 µs to touch: V8's compiler zones and Buffer backing stores, freed and allocated over and
// over. Measured on the 1M-line socket-heavy analyze (bench/analyze.mjs --socket-heavy), paired,
// alternating: median 1.39 s instead of 1.55 (9 runs, load ~2) and 1.13 instead of 1.21 (7 runs),
// ~32,500 page faults instead of ~41,000, peak RSS 145 MiB instead of 137. Put first, so that a
// user's own setting of the same tunable wins; and taken off again below, so that the programs
// fdleak runs (trace's target among them) start with the environment they were given.
const tunables = process.env.GLIBC_TUNABLES;
const OURS = 'glibc.malloc.trim_threshold=16777216';
if (tunables === OURS) delete process.env.GLIBC_TUNABLES;
else if (tunables?.startsWith(`${OURS}:`)) process.env.GLIBC_TUNABLES = tunables.slice(OURS.length + 1);
// For `diagnose <pid>` and `scan`, prefetch.js first: a worker starts on /proc while main.js loads;
// for `analyze FILE`, on a large file's second half.
const argv = process.argv.slice(2);
const prefetch = argv.includes('diagnose') || argv.includes('scan') || argv.includes('analyze') ? (await import('../dist/cli/prefetch.js')).prefetchFor(argv) : undefined;
const { main } = await import('../dist/cli/main.js');
const code = await main(argv, undefined, prefetch);
// A diagnose or a scan is over once its report is written: exit then, once stdout and stderr have
// taken everything (their callbacks), rather than let node tear down its heap and the second thread
// first. Measured on a 15,000-fd diagnose (perfload --big 15000), paired runs, time from the report
// to the parent seeing the exit: median 25 instead of 32 ms (14 pairs, load 7), 16 instead of
// 19-28 ms (two runs of 7, load 2.7); on a scan of perfload's scan load (56,600 fds), from the last
// write on stdout to the exit under strace -f, 11-12 instead of 25-33 ms (3 runs each, 2026-12-04).
// Other commands end as before.
if (argv.includes('diagnose') || argv.includes('scan')) process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
else process.exitCode = code;
