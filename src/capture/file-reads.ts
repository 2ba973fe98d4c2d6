/**
 * A regular file read into two buffers, over and over: text-input.ts decodes each read into
 * strings at once, so the bytes need not outlive the next read. A read stream gives a new buffer
 * every read instead, memory outside the JS heap that only a GC frees, which is why its reads were
 * kept at 256 KiB (1 MiB ones kept a 5M-line capture's RSS 25 MiB higher). Two buffers read 1 MiB at
 * a time at no such cost: a quarter of the reads, each a round trip through libuv's thread pool
 * that the main thread waits for (the 1M-line "as is" bench: 134 ms idle in reads, 43 with 1 MiB).
 */
import type { FileHandle } from 'node:fs/promises';

export class FileReads implements AsyncIterable<Buffer> {
  private closed = false;
  /** Where the next read starts. */
  private at: number;

  /**
   * `size`: bytes a read; from byte `start` to byte `end` (undefined: the end of the file; lowered
   * by endAt()).
   */
  constructor(readonly handle: FileHandle, private readonly size: number, start = 0, private end: number | undefined = undefined) {
    this.at = start;
  }

  /** Whether the file is closed (read to the end, or stopped). */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Where the next read starts (what was read before it may be in the caller's hands). */
  get position(): number {
    return this.at;
  }

  /** Reads stop at byte `end` (past what was read already), not at the end of the file. */
  endAt(end: number): void {
    this.end = end;
  }

  /**
   * The file's bytes, a read at a time, each a view of one of two buffers: valid until the next is
   * asked for. Closes the file at the end.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer> {
    // Two buffers: the next read fills one while the caller decodes the other, as a read stream
    // reads ahead (one buffer, read on demand, left the main thread waiting: the 1M-line "as is"
    // bench idle 167 ms in reads, a stream's 20).
    const buffers = [Buffer.allocUnsafeSlow(this.size), Buffer.allocUnsafeSlow(this.size)];
    let next = 0;
    const read = (): Promise<{ bytesRead: number }> => {
      const length = this.end === undefined ? this.size : Math.max(0, Math.min(this.size, this.end - this.at));
      const reading = length === 0 ? Promise.resolve({ bytesRead: 0 }) : this.handle.read(buffers[next]!, 0, length, this.at);
      reading.catch(() => {}); // a read ahead that fails after the caller stopped is nobody's error
      return reading;
    };
    let reading = read();
    try {
      while (!this.closed) {
        let { bytesRead } = await reading;
        // a read under way when endAt() lowered the end stops there
        if (this.end !== undefined) bytesRead = Math.max(0, Math.min(bytesRead, this.end - this.at));
        if (bytesRead === 0 || this.closed) return;
        this.at += bytesRead;
        const bytes = buffers[next]!.subarray(0, bytesRead);
        next ^= 1;
        reading = read(); // into the other buffer: the caller is done with it (it asked for more)
        yield bytes;
      }
    } finally {
      this.close();
    }
  }

  /** Stops reading and closes the file (a read under way ends first). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.handle.close().catch(() => {});
  }
}
