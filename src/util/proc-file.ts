/**
 * The text of a file whose size the kernel does not tell (st_size 0: /proc/net tables), read into
 * one buffer that doubles as it fills. Why not readFileSync: for such a file Node allocates a fresh
 * 64 KiB buffer per read() and keeps each one to the end, and the kernel hands out a /proc/net table
 * ~4,050 bytes per read(): the 3.6 MB tcp table of a 25,000-row namespace took ~890 reads and as
 * many 64 KiB buffers (57 MB), then a copy of them all. Measured in the diagnose worker that reads
 * it: 24 ms of buffer allocation and most of its 37 ms of GC per run (CPU profiles, 8 runs).
 * node: built-ins only (the diagnose worker, a bundle of its own, uses it).
 */
import { closeSync, openSync, readSync } from 'node:fs';

/** First buffer size: a small table (unix, udp, netlink of a quiet namespace) fits in it. */
const FIRST = 64 * 1024;

/** The file's bytes as latin1 (one byte, one character), as readFileSync(path, 'latin1'); throws as it does. */
export function readProcFile(path: string): string {
  const fd = openSync(path, 'r');
  try {
    let buffer = Buffer.allocUnsafeSlow(FIRST);
    let filled = 0;
    for (;;) {
      if (filled === buffer.length) {
        const bigger = Buffer.allocUnsafeSlow(buffer.length * 2);
        buffer.copy(bigger, 0, 0, filled);
        buffer = bigger;
      }
      const n = readSync(fd, buffer, filled, buffer.length - filled, null);
      if (n === 0) return buffer.toString('latin1', 0, filled);
      filled += n;
    }
  } finally {
    closeSync(fd);
  }
}
