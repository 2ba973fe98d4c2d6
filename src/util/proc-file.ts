/**
 * The text of a file whose size the kernel does not tell (st_size 0: /proc/net tables), read into
 * one buffer kept from read to read, or handed out in pieces of whole lines. Why not readFileSync:
 * for such a file Node allocates a fresh 64 KiB buffer per read() and keeps each one to the end, and
 * the kernel hands out a /proc/net table ~4,050 bytes per read(): the 3.6 MB tcp table of a
 * 25,000-row namespace took ~890 reads and as many 64 KiB buffers (57 MB), then a copy of them all.
 * Measured in the diagnose worker that reads it: 24 ms of buffer allocation and most of its 37 ms
 * of GC per run (CPU profiles, 8 runs).
 *
 * Fresh memory is what costs on a VM whose free memory goes back to the host (free page reporting,
 * as on the project's 2-core machine, where the first touch of a page costs ~10-13 µs; a C program
 * touching 100 MiB: 250-340 ms). So a file that outgrows the first buffer makes it jump to one of
 * BIG bytes, which costs only the pages the file fills (malloc maps a request that size lazily),
 * rather than doubling it (each doubling touches the whole new buffer: a 5.2 MB tcp table touched
 * 16 MB). And what can be read a piece at a time (scan's tally: pieces()) never holds more than the
 * first buffer. Measured on the host's /proc/net/tcp of the scan load (5.2 MB, ~35,000 rows), a
 * fresh node each, 3 runs: doubling 89-117 ms and ~3,500 page faults, one big buffer (64 MiB)
 * 64-92 ms and ~1,540, pieces of 64 KiB 44-67 ms and ~240. BIG is 16 MiB now: see below.
 * node: built-ins only (the diagnose worker and scan's helper thread, bundles of their own, use it).
 */
import { closeSync, openSync, readSync } from 'node:fs';

/** First buffer size: a small table (unix, udp, netlink of a quiet namespace) fits in it. */
const FIRST = 64 * 1024;
/**
 * The size a file that outgrows FIRST jumps to: room for ~110,000 tcp rows (150 bytes each), more
 * than a crowded host's table. Not more: V8 counts a Buffer's memory as its own, and 64 MiB of it
 * starts a full collection of the heap at once (seen with --trace-gc); 16 or 32 MiB do not.
 */
const BIG = 16 * 1024 * 1024;

/**
 * Reads whole files of size 0 into one buffer that it keeps for the next read (`fdleak scan` reads
 * every namespace's tables through one), or hands them out a piece at a time.
 */
export class ProcFileReader {
  private buffer: Buffer;
  /** BIG could not be had once: the buffer only doubles from then on. */
  private noBig = false;

  constructor(size = FIRST) {
    this.buffer = Buffer.allocUnsafeSlow(size);
  }

  /** The file's bytes, valid until the next read; throws as openSync and readSync do. */
  read(path: string): Buffer {
    const fd = openSync(path, 'r');
    try {
      let filled = 0;
      for (;;) {
        if (filled === this.buffer.length) this.grow(filled);
        const n = readSync(fd, this.buffer, filled, this.buffer.length - filled, null);
        if (n === 0) return this.buffer.subarray(0, filled);
        filled += n;
      }
    } finally {
      closeSync(fd);
    }
  }

  /**
   * The file's bytes in order, in pieces of whole lines (each ends with "\n") and a last one that
   * ends where the file does (empty if the file ends with a line's end, or is empty): at most
   * FIRST bytes each, unless one line is longer. A piece is valid only during its call. Throws as
   * openSync and readSync do (pieces already handed out stay handed out).
   */
  pieces(path: string, each: (piece: Buffer) => void): void {
    const fd = openSync(path, 'r');
    try {
      let limit = Math.min(FIRST, this.buffer.length); // the pages of a window this size, touched once
      let filled = 0;
      for (;;) {
        if (filled === limit) {
          // Full: hand out its whole lines, and move the start of the next to the front.
          const end = this.buffer.lastIndexOf(10, filled - 1) + 1;
          if (end === 0) { // one line longer than the window
            if (limit === this.buffer.length) this.grow(filled);
            limit = Math.min(limit * 2, this.buffer.length);
          } else {
            each(this.buffer.subarray(0, end));
            this.buffer.copyWithin(0, end, filled);
            filled -= end;
          }
        }
        const n = readSync(fd, this.buffer, filled, limit - filled, null);
        if (n === 0) {
          each(this.buffer.subarray(0, filled));
          return;
        }
        filled += n;
      }
    } finally {
      closeSync(fd);
    }
  }

  /**
   * A larger buffer holding the first `filled` bytes of this one: BIG, or twice this one's size
   * where BIG is no larger, or where BIG cannot be had (a low `ulimit -v`): then what doubling can.
   */
  private grow(filled: number): void {
    const twice = this.buffer.length * 2;
    const wanted = this.noBig ? twice : Math.max(twice, BIG);
    let bigger: Buffer;
    try {
      bigger = Buffer.allocUnsafeSlow(wanted);
    } catch (error) {
      if (wanted === twice) throw error; // as an allocation does
      this.noBig = true; // not asked again
      bigger = Buffer.allocUnsafeSlow(twice);
    }
    this.buffer.copy(bigger, 0, 0, filled);
    this.buffer = bigger;
  }
}

const reader = new ProcFileReader();

/** The file's bytes as latin1 (one byte, one character), as readFileSync(path, 'latin1'); throws as it does. */
export function readProcFile(path: string): string {
  return reader.read(path).toString('latin1');
}
