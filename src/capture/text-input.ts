/**
 * Reads captured text (a file or stdin) as numbered lines, in chunks, with bounded memory:
 * - a chunk is about 48 KiB of whole lines, decoded straight from the bytes read, with the number of
 *   its first line: parsers read it in place, with no string or object per line;
 * - lines longer than MAX_LINE are cut off and reported, never buffered whole (a line of megabytes):
 *   no chunk holds them (the next chunk's first line number skips them);
 * - lsof -F0 output (fields ended by NUL, sets by NUL+newline) is turned into one field per line;
 * - NUL bytes anywhere else, or mostly non-text bytes, mean binary data: an InputError at that line;
 * - CRLF line ends read as LF; an empty input is an InputError.
 */
import { constants, createReadStream, open } from 'node:fs';
import { open as openHandle, stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import { Socket } from 'node:net';
import { InputError } from '../errors.js';
import { MAX_LINE } from '../parse/text.js';
import { FileReads } from './file-reads.js';
import { HEAD_LINES } from './head-lines.js';

/**
 * Chunks are cut at about this size: V8 allocates larger strings in its large-object space, which
 * only a full GC frees, and a 100 MB capture would pile up there; smaller ones die young, cheaply.
 */
const CHUNK = 48 * 1024;

export interface Line {
  no: number;
  text: string;
}

/** Whole lines of an input: `count` lines joined by "\n" (no newline at the end), numbered from `first`. */
export interface Chunk {
  first: number;
  count: number;
  text: string;
  /**
   * The bytes `text` was decoded from, and the newline after them (a view of the read's buffer:
   * valid only until the reading goes on, so a chunk held back, as the head is, has none). Byte i
   * is character i of `text`: latin1 decodes one byte to one character. The lsof reader reads its
   * rows from these (a typed array's element is cheaper to load than a string's character).
   */
  bytes?: Uint8Array;
}

export interface LineStream {
  source: string;
  /** The first lines, for format detection. */
  head: Line[];
  /**
   * The input's lines in chunks, head first: a chunk at a time as a read is decoded (with the
   * line the read before left open), never past the read's buffer (Chunk.bytes stays valid until
   * the next is asked for).
   */
  chunks(): AsyncGenerator<Chunk[]>;
  /** Lines seen so far (all lines once chunks() is drained). */
  readonly lines: number;
  /** Lines cut because they were longer than MAX_LINE. */
  readonly overlong: Line[];
  /** Stops reading and closes the source (stdin too): once an input is judged unusable, nothing waits for it. */
  close(): void;
  /** A regular file's: its path and size when opened, and its reads (their end can be lowered: capture/tail.ts). */
  readonly file?: { path: string; size: number; reads: FileReads };
}

/**
 * The lines of a regular file from byte `start` (a line's start), numbered from `first`, in chunks
 * as a LineStream gives them; lines over MAX_LINE go to `overlong`. For the rest of a capture whose
 * start another reading ended at `start` (capture/tail.ts).
 */
export async function linesFrom(path: string, source: string, start: number, first: number, overlong: Line[]): Promise<ChunkIterator> {
  return splitChunks(new FileReads(await openHandle(path, 'r'), 1 << 20, start), source, { before: first - 1, overlong });
}

/**
 * A copy of `text` that does not keep alive the string it was cut from. V8 makes a slice of 13 or
 * more characters a view into its parent: a record that keeps a name sliced out of a chunk would
 * keep the whole chunk (a million-line capture, whole). Records kept beyond their chunk hold
 * detached strings: the concatenation is flattened into a new string, which the slice then views.
 */
export function detach(text: string): string {
  return text.length < 13 ? text : (' ' + text).slice(1);
}

/** The lines of a chunk. */
export function linesOf(chunk: Chunk): Line[] {
  return chunk.text.split('\n').map((text, i) => ({ no: chunk.first + i, text }));
}

/**
 * A file as a stream that can be closed at any moment. A regular file reads through fs; a FIFO (a
 * named pipe, `<(cmd)`) through a pipe handle, whose reads do not tie up a thread while the writer
 * is silent; a character device (/dev/kmsg) without blocking, as far as it has data now: a read
 * that blocks in a thread cannot be called off, and would keep the process alive after an error.
 */
async function openFile(path: string, readBytes: number): Promise<Source> {
  const info = await stat(path);
  if (info.isFIFO() || info.isSocket()) {
    return new Socket({ fd: await openFd(path, constants.O_RDONLY | constants.O_NONBLOCK), readable: true, writable: false });
  }
  if (info.isCharacterDevice()) {
    return createReadStream('', { fd: await openFd(path, constants.O_RDONLY | constants.O_NONBLOCK), highWaterMark: 1 << 20 });
  }
  return new FileReads(await openHandle(path, 'r'), readBytes); // reads of 1 MiB into one buffer (file-reads.ts)
}

/** What an input is read from: a stream (stdin, a FIFO, a device), or a regular file's reads. */
type Source = NodeJS.ReadableStream | FileReads;

const openFd = promisify(open) as (path: string, flags: number) => Promise<number>;

/** Stops a stream for good: no more reads, its handle closed (an unref'd stdin lets the process exit). */
function closeStream(stream: Source): void {
  if (stream instanceof FileReads) return stream.close();
  const s = stream as NodeJS.ReadableStream & { destroy?: () => void; unref?: () => void };
  s.pause();
  s.destroy?.();
  s.unref?.();
}

/** Opens a file, or stdin for "-"; a regular file is read `readBytes` at a time (tests: smaller). */
export async function openLines(path: string, stdin: NodeJS.ReadableStream, headLines = HEAD_LINES, readBytes = 1 << 20): Promise<LineStream> {
  const source = path === '-' ? 'stdin' : path;
  const stream = path === '-' ? stdin : await openFile(path, readBytes);
  try {
    const info = stream instanceof FileReads ? await stream.handle.stat() : null; // before the head is read: a small file is closed after it
    const lines = await readHead(stream, source, headLines);
    return info === null || !info.isFile() ? lines : Object.assign(lines, { file: { path, size: info.size, reads: stream as FileReads } });
  } catch (error) {
    closeStream(stream);
    throw error;
  }
}

async function readHead(stream: Source, source: string, headLines: number): Promise<LineStream> {
  const iterator = splitChunks(stream, source);
  const prefetched: Chunk[][] = [];
  let seen = 0;
  // Prefetch the head for detection; the rest streams.
  let next = await iterator.next();
  while (!next.done) {
    prefetched.push(next.value);
    for (const chunk of next.value) seen += chunk.count;
    if (seen >= headLines) break;
    next = await iterator.next();
  }
  const headDone = next.done === true;
  // their bytes were a buffer's that the reads since (and the next) fill again
  for (const chunks of prefetched) for (const chunk of chunks) delete chunk.bytes;
  const head: Line[] = [];
  for (const chunk of prefetched.flat()) {
    if (head.length >= headLines) break;
    head.push(...linesOf(chunk).slice(0, headLines - head.length));
  }
  return {
    source,
    head,
    get lines() { return iterator.lines(); },
    get overlong() { return iterator.overlong; },
    close: () => closeStream(stream),
    async *chunks() {
      yield* prefetched;
      prefetched.length = 0;
      if (headDone) return;
      for (;;) {
        const chunk = await iterator.next();
        if (chunk.done) break;
        yield chunk.value;
      }
    },
  };
}

export type ChunkIterator = AsyncGenerator<Chunk[], void> & { overlong: Line[]; lines(): number };

/**
 * Splits a byte stream into chunks of whole lines (latin1, so any byte survives one-to-one). A chunk
 * is decoded straight from the bytes read, so it is a flat string parsers can index fast; a line
 * begun by the previous read is a chunk of its own. Each chunk is handed on as soon as it is
 * decoded, not a read's ~22 together: the parser then reads a string still in the cache, and only
 * one chunk's string is alive, not a megabyte of them (a young generation that stays smaller).
 * Measured on the 1M-line socket-heavy capture, farm-bench against handing on a read's chunks
 * together, 31 pairs: 0.958x wall, 0.958x CPU, peak RSS 114 MiB instead of 134.
 */
function splitChunks(stream: Source, source: string, rest?: { before: number; overlong: Line[] }): ChunkIterator {
  // the rest of a text (linesFrom): its start was checked and numbered already
  const overlong = rest?.overlong ?? [];
  let no = rest?.before ?? 0; // lines completed
  async function* run(): AsyncGenerator<Chunk[], void> {
    let carry = ''; // the start of the line the last read did not finish
    let carryDropped = false; // the current line is over MAX_LINE: skip to its end
    let bytes = 0;
    let f0 = false; // lsof -F0: NUL ends a field, NUL and newline a set
    /** The reads, lsof -F0 turned into one field per line (a NUL that ends a read waits for the next). */
    async function* reads(): AsyncGenerator<Buffer | string> {
      let held = false;
      for await (const data of nonBlocking(stream as AsyncIterable<Buffer | string>)) {
        if (bytes === 0 && data.length > 0 && rest === undefined) {
          const start = typeof data === 'string' ? data : data.toString('latin1', 0, 4096);
          checkText(start, source);
          f0 = /^p\d+\0/.test(start);
        }
        bytes += data.length;
        if (!f0) {
          yield data;
          continue;
        }
        let text: string = (held ? '\0' : '') + (typeof data === 'string' ? data : data.toString('latin1'));
        held = text.endsWith('\0');
        if (held) text = text.slice(0, -1);
        text = text.replace(/\0\n?/g, '\n');
        yield typeof data === 'string' ? text : Buffer.from(text, 'latin1');
      }
      if (held) yield '\n';
    }
    for await (const data of reads()) {
      const buf = typeof data === 'string' ? null : data;
      const text = buf === null ? (data as string) : '';
      const length = buf === null ? text.length : buf.length;
      const newline = (from: number): number => (buf === null ? text.indexOf('\n', from) : buf.indexOf(10, from));
      const lastNewline = (from: number): number => (buf === null ? text.lastIndexOf('\n', from) : buf.lastIndexOf(10, from));
      const decode = (from: number, to: number): string => (buf === null ? text.slice(from, to) : buf.toString('latin1', from, to));
      let chunks: Chunk[] = [];
      // `at`: where the body starts in `buf` (and a newline ends it there), or -1: no bytes go with it
      const kept = (first: number, count: number, body: string, at = -1): void => {
        if (!f0) checkNul(body, first, source);
        const crlf = body.includes('\r');
        const chunk: Chunk = { first, count, text: crlf ? body.replace(/\r(?=\n|$)/g, '') : body };
        if (at >= 0 && !crlf && !f0 && buf !== null) chunk.bytes = buf.subarray(at, at + body.length + 1);
        chunks.push(chunk);
      };
      const nl = newline(0);
      if (nl < 0) {
        if (!carryDropped) carry += decode(0, length);
      } else {
        let from = 0; // start of the run of whole lines
        if (carry !== '' || carryDropped) {
          // The line the last read began ends here.
          no++;
          if (carryDropped) overlong.push({ no, text: detach(carry) });
          else if (carry.length + nl > MAX_LINE) overlong.push({ no, text: detach((carry + decode(0, 200)).slice(0, 200)) });
          else kept(no, 1, carry + decode(0, nl));
          carry = '';
          carryDropped = false;
          from = nl + 1;
        }
        // Then chunks of about CHUNK characters, cut after a line; a line longer than CHUNK stands
        // alone (and is cut off beyond MAX_LINE). Lines are counted per chunk, in its string.
        const last = lastNewline(length - 1);
        while (from <= last) {
          const cut = from + CHUNK >= last ? last : lastNewline(from + CHUNK);
          if (cut < from) {
            const end = newline(from);
            no++;
            if (end - from > MAX_LINE) overlong.push({ no, text: detach(decode(from, from + 200)) });
            else kept(no, 1, decode(from, end));
            from = end + 1;
            continue;
          }
          const body = decode(from, cut);
          const count = lineCount(body);
          kept(no + 1, count, body, from);
          no += count;
          from = cut + 1;
          // handed on at once, before the next is decoded: see splitChunks
          yield chunks;
          chunks = [];
        }
        carry = decode(last + 1, length);
      }
      if (!carryDropped && carry.length > MAX_LINE) { carry = carry.slice(0, 200); carryDropped = true; }
      if (chunks.length > 0) yield chunks;
    }
    if (bytes === 0 && rest === undefined) throw new InputError('empty input: expected lsof, ss, netstat or /proc/net text', { source });
    if (carry !== '' || carryDropped) {
      no++;
      if (carryDropped) overlong.push({ no, text: detach(carry) });
      else if (!f0 && carry.includes('\0')) throw new InputError('binary data (NUL bytes): expected text', { source, line: no });
      else yield [{ first: no, count: 1, text: carry }];
    }
  }
  return Object.assign(run(), { overlong, lines: () => no });
}

/**
 * The lines of a chunk: its newlines, plus one. A function of its own, not a loop in run(): the
 * loop made run(), an async generator with closures, the hottest function of a big read, and V8
 * compiled it with TurboFan on each reading thread (three compiles, ~120 ms of compiler time on
 * the 1M-line socket-heavy capture, --trace-opt), and threw the code away again at its end.
 */
function lineCount(body: string): number {
  let count = 1;
  for (let i = body.indexOf('\n'); i >= 0; i = body.indexOf('\n', i + 1)) count++;
  return count;
}

/** A character device read without blocking has no more data now (EAGAIN): that is its end. */
async function* nonBlocking(stream: AsyncIterable<Buffer | string>): AsyncGenerator<Buffer | string> {
  try {
    yield* stream;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
  }
}

/** Rejects data that is clearly not text: too many control bytes in the first chunk. */
function checkText(text: string, source: string): void {
  const sample = text.slice(0, 4096);
  if (/^p\d+\0/.test(sample)) return; // lsof -F0
  let control = 0;
  for (let i = 0; i < sample.length; i++) {
    const c = sample.charCodeAt(i);
    if (c === 0) throw new InputError('binary data (NUL bytes): expected text', { source, line: lineOf(sample, i) });
    if ((c < 9 || (c > 13 && c < 32)) && c !== 27) control++;
  }
  if (control > sample.length / 20) throw new InputError('binary data: expected text', { source, line: 1 });
}

/** A NUL byte in a chunk's kept lines is binary data: an InputError at its line. */
function checkNul(body: string, first: number, source: string): void {
  const at = body.indexOf('\0');
  if (at >= 0) throw new InputError('binary data (NUL bytes): expected text', { source, line: first - 1 + lineOf(body, at) });
}

function lineOf(text: string, index: number): number {
  let n = 1;
  for (let i = 0; i < index; i++) if (text.charCodeAt(i) === 10) n++;
  return n;
}

/** A regular file's LineStream opened again from its start (capture.ts reads a capture twice only when it must). */
export async function reopenLines(stream: LineStream): Promise<LineStream> {
  if (stream.file === undefined) throw new Error(`${stream.source} is no regular file: it cannot be read again`);
  const reads = new FileReads(await openHandle(stream.file.path, 'r'), 1 << 20);
  try {
    const { size } = await reads.handle.stat(); // before the head is read, as openLines
    return Object.assign(await readHead(reads, stream.source, HEAD_LINES), { file: { path: stream.file.path, size, reads } });
  } catch (error) {
    reads.close();
    throw error;
  }
}
