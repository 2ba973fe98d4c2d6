/**
 * The warm-up (capture/warm-up.ts) is there to give V8 feedback on every path the reader and the
 * fold take on a large capture's plain rows before it optimizes them. What it must do, then: go
 * down each of those paths (an IPv4 row read in place in ESTABLISHED and in CLOSE_WAIT, with a
 * plain fd and with "*NNN", unix and sock rows in place, a port's second peer, the fold's CLOSE_WAIT
 * rows and socket fds without a row), every made-up row read without a skip; and leave nothing behind: a capture
 * read after it reports what it reported before.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { analyzeCapture } from '../../src/capture/capture.js';
import { SocketFold } from '../../src/capture/fold.js';
import { openLines } from '../../src/capture/text-input.js';
import { warmUp } from '../../src/capture/warm-up.js';
import { ColumnsReader } from '../../src/parse/lsof/columns.js';
import { FdNumbers } from '../../src/parse/lsof/fd-numbers.js';
import { judgedScope } from '../../src/report/analyze/judged.js';
import { analyzeJson } from '../../src/report/analyze/json.js';
import { runRules } from '../../src/rules/engine.js';
import { LineSink } from '../../src/util/skips.js';
import { ROOT } from '../helpers/cli.js';

afterEach(() => vi.restoreAllMocks());

type Spied = Record<string, (...args: never[]) => unknown>;

describe('warmUp', () => {
  it('goes down every path of a plain socket row, and reads every row it made up', () => {
    const reader = ColumnsReader.prototype as unknown as Spied;
    const fold = SocketFold.prototype as unknown as Spied;
    const inet = vi.spyOn(reader, 'inet');
    const unix = vi.spyOn(reader, 'unix');
    const sock = vi.spyOn(reader, 'sock');
    const headInet = vi.spyOn(reader, 'headInet');
    const tcpRow = vi.spyOn(fold, 'tcpRow');
    const tableRow = vi.spyOn(fold, 'tableRow');
    const sockFd = vi.spyOn(fold, 'sockFd');
    const tallyPort = vi.spyOn(fold, 'tallyPort');
    const truncated = vi.spyOn(FdNumbers.prototype, 'truncated');
    const bad = vi.spyOn(LineSink.prototype, 'bad');
    warmUp();
    // [pid, inode, closeWait] of the rows the fold took in place
    const tcp = tcpRow.mock.calls.map((c) => c[2] as unknown as boolean);
    expect(tcp.filter((closeWait) => closeWait).length).toBeGreaterThan(2);
    expect(tcp.filter((closeWait) => !closeWait).length).toBeGreaterThan(2);
    // in place: the ESTABLISHED and CLOSE_WAIT rows (3 processes, 18 each); a LISTEN row falls back, as in a capture
    expect(inet.mock.results.filter((r) => r.value === true).length).toBe(54);
    expect(headInet.mock.results.some((r) => r.value === true)).toBe(true); // the same head as the row before
    expect(tableRow.mock.calls.some((c) => (c[2] as unknown) === 'UNIX')).toBe(true);
    expect(unix.mock.results.every((r) => r.value === true)).toBe(true);
    expect(sock).toHaveBeenCalled();
    expect(sockFd).toHaveBeenCalled();
    expect(truncated).toHaveBeenCalled(); // "*NNN" fds
    // a port's peers: its first, then more of them (the second path of tallyPort)
    const ports = tallyPort.mock.calls.map((c) => c[0] as unknown as number);
    expect(ports.filter((p) => p === 5432).length).toBeGreaterThan(2);
    expect(bad).not.toHaveBeenCalled();
  });

  it('leaves nothing behind: a capture read after it reports what it reported before', async () => {
    const report = async (): Promise<string> => {
      const text = readFileSync(join(ROOT, 'fixtures/lsof/list-everything.txt'), 'latin1');
      const stream = await openLines('-', Readable.from([Buffer.from(text, 'latin1')]));
      try {
        const capture = await analyzeCapture([stream], undefined, '2026-12-03T00:00:00.000Z', {}, { foldAfter: 0 }); // folded: the warm-up's paths
        const { findings, skipped, ran } = runRules(capture.snapshot);
        return analyzeJson(capture, findings, skipped, judgedScope(capture.snapshot, ran, skipped));
      } finally {
        stream.close();
      }
    };
    const before = await report();
    warmUp();
    warmUp();
    expect(await report()).toBe(before);
    expect(JSON.parse(before).processes.length).toBeGreaterThan(0);
  });
});
