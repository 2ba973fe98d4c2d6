/**
 * The lsof column reader reads its rows from the bytes a chunk was decoded from (Chunk.bytes: a
 * view of the read's buffer, which the next reads fill again), or, for text that came without them,
 * from bytesOf the text. Both must read what the text says:
 * - a file's chunks carry their bytes, byte i being character i, a newline after; the head's
 *   chunks, held back while later reads fill the buffers again, and CRLF chunks carry none;
 * - a capture read from a file in small reads (each buffer refilled hundreds of times) gives the
 *   report its text gives read whole as one string (no bytes: bytesOf), and the reader was given
 *   bytes for most of it;
 * - text with characters past latin1 (a caller that decoded UTF-8): a Unicode space still parts
 *   columns, other characters stay in the names.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { analyzeCapture } from '../../../src/capture/capture.js';
import { openLines } from '../../../src/capture/text-input.js';
import { ColumnsReader } from '../../../src/parse/lsof/columns.js';
import { judgedScope } from '../../../src/report/analyze/judged.js';
import { analyzeJson } from '../../../src/report/analyze/json.js';
import { runRules } from '../../../src/rules/engine.js';
import { ROOT } from '../../helpers/cli.js';
import { readColumns } from './read.js';

const TAKEN_AT = '2026-12-03T00:00:00.000Z';
const BASE = join(ROOT, 'fixtures/lsof/list-everything.txt');

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fdleak-bytes-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The analyze --json report of `stream`'s capture. */
async function report(stream: Awaited<ReturnType<typeof openLines>>): Promise<string> {
  try {
    const capture = await analyzeCapture([stream], undefined, TAKEN_AT, {}, { split: { threads: 1 } });
    const { findings, skipped, ran } = runRules(capture.snapshot);
    return analyzeJson(capture, findings, skipped, judgedScope(capture.snapshot, ran, skipped));
  } finally {
    stream.close();
  }
}

describe('chunks carry the bytes their text was decoded from', () => {
  it('a file read 4 KiB at a time: every chunk after the head has them, byte i = character i, a newline after', async () => {
    const path = join(dir, 'plain.txt');
    writeFileSync(path, readFileSync(BASE));
    const stream = await openLines(path, process.stdin, 50, 4096); // 50 lines of ~120 bytes: the head takes two reads
    let withBytes = 0;
    let first = true;
    for await (const chunks of stream.chunks()) {
      for (const chunk of chunks) {
        if (first) expect(chunk.bytes, 'a chunk of the head (held back)').toBeUndefined();
        if (chunk.bytes === undefined) continue;
        // checked now: the buffer is filled again once the next read is asked for
        expect(Buffer.from(chunk.bytes).toString('latin1')).toBe(`${chunk.text}\n`);
        withBytes++;
      }
      first = false;
    }
    expect(withBytes).toBeGreaterThan(10);
  });

  it('a CRLF file: none (its text is not its bytes)', async () => {
    const path = join(dir, 'crlf.txt');
    writeFileSync(path, readFileSync(BASE, 'latin1').replace(/\n/g, '\r\n'), 'latin1');
    const stream = await openLines(path, process.stdin, 50, 4096);
    let chunks = 0;
    for await (const batch of stream.chunks()) {
      for (const chunk of batch) {
        expect(chunk.bytes).toBeUndefined();
        chunks++;
      }
    }
    stream.close();
    expect(chunks).toBeGreaterThan(10);
  });
});

describe('the reader reads the same from the bytes as from the text', () => {
  it('a capture of 20,000 lines (bench/replicate.mjs, other processes) from a file in 4 KiB reads, and as one string', async () => {
    const path = join(dir, 'big.txt');
    execFileSync(process.execPath, [join(ROOT, 'bench/replicate.mjs'), BASE, path, '20000'], { cwd: ROOT });
    const proto = ColumnsReader.prototype as unknown as { read: (text: string, first: number, stop: unknown, bytes?: Uint8Array) => number };
    const spy = vi.spyOn(proto, 'read');
    let fromFile: string;
    let withBytes: number;
    try {
      fromFile = await report(await openLines(path, process.stdin, 50, 4096));
      withBytes = spy.mock.calls.filter((args) => args[3] !== undefined).length;
    } finally {
      spy.mockRestore();
    }
    const text = readFileSync(path, 'latin1');
    const whole = await report(await openLines('-', Readable.from([text]))); // a string: no bytes
    expect(withBytes, 'chunks read from their bytes').toBeGreaterThan(100);
    expect(fromFile.replaceAll(path, 'stdin')).toBe(whole); // the source named aside
    expect(JSON.parse(whole).input.lines).toBe(20000);
  });

  it('text past latin1: a Unicode space parts columns as a space does; a name keeps its characters', () => {
    const header = 'COMMAND   PID USER   FD   TYPE DEVICE SIZE/OFF    NODE NAME';
    const row = (sp: string, name: string): string =>
      [`srv${sp}  4242${sp}root${sp}  ${sp}7u${sp}IPv4${sp}633801${sp}0t0${sp}TCP${sp}127.0.0.1:47101->127.0.0.1:43501 (ESTABLISHED)`,
        `srv   4242 root    8r   REG  254,0     4096  260811 /srv/${name}`].join('\n');
    const ascii = readColumns(`${header}\n${row(' ', 'data')}`, 'ascii');
    for (const sp of ['\u3000', '\u2003', '\u00a0']) {
      const wide = readColumns(`${header}\n${row(sp, '漢字 é')}`, 'wide');
      expect(wide.sockets.map((s) => [s.inode, s.state, s.remote?.port])).toEqual(ascii.sockets.map((s) => [s.inode, s.state, s.remote?.port]));
      expect(wide.fds.map((f) => f.fd)).toEqual(ascii.fds.map((f) => f.fd));
      expect(wide.fds.find((f) => f.fd === 8)?.target).toBe('/srv/漢字 é');
    }
  });
});
