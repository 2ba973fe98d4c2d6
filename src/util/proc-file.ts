/**
 * The text of a file whose size the kernel does not tell (st_size 0: /proc/net tables), read into
 * one buffer that doubles as it fills. Why not readFileSync: for such a file Node allocates a fresh
 * 64 KiB buffer per read() and keeps each one to the end, and the kernel hands out a /proc/net table
 * ~4,050 bytes per read(): the 3.6 MB tcp table of a 25,000-row namespace took ~890 reads and as
 * many 64 KiB buffers (57 MB), then a copy of them all. Measured in the diagnose worker that reads
 * it: 24 ms of buffer allocation and most of its 37 ms of GC per run (CPU profiles, 8 runs).
 * node: built-ins only (the diagnose worker and scan's helper thread, bundles of their own, use it).
 */
import { closeSync, openSync, readSync } from 'node:fs';

/** First buffer size: a small table (unix, udp, netlink of a quiet namespace) fits in it. */
const FIRST = 64 * 1024;

/**
 * Reads whole files of size 0 into one buffer that it keeps for the next read and doubles as a
 * file outgrows it (`fdleak scan` reads every namespace's tables through one).
 */
export class ProcFileReader {
  private buffer: Buffer;

  constructor(size = FIRST) {
    this.buffer = Buffer.allocUnsafeSlow(size);
  }

  /** The file's bytes, valid until the next read; throws as openSync and readSync do. */
  read(path: string): Buffer {
    const fd = openSync(path, 'r');
    try {
      let filled = 0;
      for (;;) {
        if (filled === this.buffer.length) {
          const bigger = Buffer.allocUnsafeSlow(this.buffer.length * 2);
          this.buffer.copy(bigger, 0, 0, filled);
          this.buffer = bigger;
        }
        const n = readSync(fd, this.buffer, filled, this.buffer.length - filled, null);
        if (n === 0) return this.buffer.subarray(0, filled);
        filled += n;
      }
    } finally {
      closeSync(fd);
    }
  }
}

const reader = new ProcFileReader();

/** The file's bytes as latin1 (one byte, one character), as readFileSync(path, 'latin1'); throws as it does. */
export function readProcFile(path: string): string {
  return reader.read(path).toString('latin1');
}
