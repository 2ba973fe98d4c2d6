/**
 * A regular file read into one buffer, over and over: text-input.ts decodes each read into
 * strings at once, so the bytes need not outlive the next read. A read stream gives a new buffer
 * every read instead, memory outside the JS heap that only a GC frees, which is why its reads were
 * kept at 256 KiB (1 MiB ones kept a 5M-line capture's RSS 25 MiB higher). One buffer reads 1 MiB at
 * a time at no such cost: a quarter of the reads, each a round trip through libuv's thread pool
 * that the main thread waits for (the 1M-line "as is" bench: 134 ms idle in reads, 43 with 1 MiB).
 */
import type { FileHandle } from 'node:fs/promises';

export class FileReads implements AsyncIterable<Buffer> {
  private closed = false;

  /** `size`: bytes a read. */
  constructor(private readonly handle: FileHandle, private readonly size: number) {}

  /**
   * The file's bytes, a read at a time, each a view of the same buffer: valid until the next is
   * asked for. Closes the file at the end.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer> {
    const buffer = Buffer.allocUnsafeSlow(this.size);
    try {
      while (!this.closed) {
        const { bytesRead } = await this.handle.read(buffer, 0, buffer.length, null);
        if (bytesRead === 0 || this.closed) return;
        yield buffer.subarray(0, bytesRead);
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
