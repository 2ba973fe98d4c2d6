#!/bin/sh
':' //; unset NODE_EXTRA_CA_CERTS; export GLIBC_TUNABLES=glibc.malloc.trim_threshold=16777216:glibc.malloc.hugetlb=1${GLIBC_TUNABLES:+:$GLIBC_TUNABLES}; f=$0; [ -L "$f" ] && f=$(/usr/bin/readlink -f -- "$f"); d=${f%/*}/..; if [ -r "$d/dist/node" ] && read -r n < "$d/dist/node" && [ -x "$n" ]; then case " $* " in *" diagnose "*) b=$d/dist/diagnose.blob;; *" scan "*|*" analyze "*) b=$d/dist/fdleak.blob;; *) b=;; esac; [ -n "$b" ] && [ -z "$NODE_OPTIONS" ] && [ "$b" -nt "$n" ] && [ -r "$b.flags" ] && read -r v < "$b.flags" && [ -r "$d/dist/snapshot.path" ] && read -r s < "$d/dist/snapshot.path" && [ -r "$s" ] && exec "$n" $v --snapshot-blob "$b" "$0" "$@"; exec "$n" "$0" "$@"; fi; exec node "$0" "$@"
// Line 2 is sh to the shell and a string plus a comment to node. Run as a command, the file re-runs
// itself under node, in the same process (exec: signals, stdin, exit code and argv are node's), and
// without NODE_EXTRA_CA_CERTS, which makes Node 20 parse that CA bundle before any JS runs (42 ms of
// every start here) for TLS that fdleak never does, and with malloc's trim threshold raised
// (GLIBC_TUNABLES: why below). Which node: the one that built the package
// (dist/node, written by the build: the node npm ran at install), found next to this file (through
// /usr/bin/readlink -f only where it is a symlink, as npm's bin links are), so a `node` someone put
// first on root's PATH is not run; only where that file or that node is gone, the node of PATH. `node bin/fdleak.js` works too, with the node you name.
// For diagnose, scan and analyze (the word anywhere in argv, as below), that node starts from a
// start-up snapshot the build made (dist/diagnose.blob, dist/fdleak.blob for the other two:
// src/cli/snapshot.ts, scripts/build-snapshot.mjs, which says why two) rather than loading the ES
// modules, with the V8 flags the blob was made with (dist/<blob>.flags: unquoted, so that each
// word is one argument, none for fdleak.blob), where the blob is newer than that node (a node
// upgraded since the build would refuse it), NODE_OPTIONS is empty (V8 refuses a snapshot made
// under other V8 flags: --max-old-space-size there, and node exits 14 with no output) and the
// bundle it was made of is still where the build put it (dist/snapshot.path); node then runs the
// snapshot's own copy of launch.ts, not this file.
// GLIBC_TUNABLES: malloc gives free memory back to the kernel only past 16 MiB at the top of its
// heap, not past 128 KiB. On a VM whose free memory goes back to the host (free page reporting, as
// on the project's 2-core machine), every page malloc gives back and takes again is a fresh page,
// ~10-13 µs to touch: V8's compiler zones and Buffer backing stores, freed and allocated over and
// over. Measured on the 1M-line socket-heavy analyze (bench/analyze.mjs --socket-heavy), paired,
// alternating: median 1.39 s instead of 1.55 (9 runs, load ~2) and 1.13 instead of 1.21 (7 runs),
// ~32,500 page faults instead of ~41,000, peak RSS 145 MiB instead of 137. And malloc asks for
// transparent huge pages (glibc.malloc.hugetlb=1: madvise(MADV_HUGEPAGE) on the memory it maps,
// honoured where THP is "madvise" or "always", ignored by a glibc before 2.35): one fault for 2 MiB
// instead of 512 (a fresh 2 MiB here: ~0.1 ms instead of ~5). Measured on such a VM (a fresh page
// 10.3 µs), farm-bench, paired: the 1M-line socket-heavy analyze --json 0.949x wall (21 pairs,
// ~30,000 faults instead of ~36,000), diagnose of perfload --big 15000 0.926x, scan 0.935x (15
// pairs each), peak RSS the same. Both put first, so that a user's own setting of the same
// tunable wins; and taken off again by launch.ts, so that the programs fdleak runs (trace's target
// among them) start with the environment they were given.
// The rest of the run: dist/cli/launch.js (src/cli/launch.ts), which the start-up snapshot runs too.
const { launch } = await import('../dist/cli/launch.js');
await launch(process.argv.slice(2));
