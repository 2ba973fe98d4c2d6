/**
 * The column reader's fast path for a socket-heavy capture's common row (ColumnsReader.headInet:
 * the same head as the row before, a plain or "*NNN" FD, TYPE IPv4, NAME "a:p->b:q (ESTABLISHED
 * or CLOSE_WAIT)") must read exactly what the general path reads. Each capture is analyzed folded
 * from its first socket (the fast path reads only into a fold) with the fast path on and off, and
 * both reports compared byte for byte: on every lsof fixture, and on rows made from a real row that
 * must fall back (odd widths, missing columns, names with spaces, IPv6, other states, queues, CRLF,
 * odd FD modes, odd inodes, hosts by name, a pasted capture's indented rows). A spy on headInet
 * shows which rows it took, so the comparison is known to cover it.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { analyzeCapture } from '../../../src/capture/capture.js';
import { openLines } from '../../../src/capture/text-input.js';
import { ColumnsReader } from '../../../src/parse/lsof/columns.js';
import { judgedScope } from '../../../src/report/analyze/judged.js';
import { analyzeJson } from '../../../src/report/analyze/json.js';
import { analyzeTable } from '../../../src/report/analyze/table.js';
import { runRules } from '../../../src/rules/engine.js';
import { ROOT } from '../../helpers/cli.js';

const TAKEN_AT = '2026-12-03T00:00:00.000Z';

/** Both reports of `text`, read folded from the first socket, fast path `fast`; where the rows headInet took start. */
async function report(text: string, fast: boolean): Promise<{ out: string; taken: number[] }> {
  const proto = ColumnsReader.prototype as unknown as { headInet: (ls: number, le: number) => boolean };
  const spy = vi.spyOn(proto, 'headInet');
  ColumnsReader.fastRows = fast;
  let stream: Awaited<ReturnType<typeof openLines>> | undefined;
  try {
    stream = await openLines('-', Readable.from([Buffer.from(text, 'latin1')]));
    const capture = await analyzeCapture([stream], undefined, TAKEN_AT, {}, { foldAfter: 0 });
    const { findings, skipped, ran } = runRules(capture.snapshot);
    const judged = judgedScope(capture.snapshot, ran, skipped);
    const out = analyzeJson(capture, findings, skipped, judged) +
      analyzeTable(capture, findings, skipped, judged, { color: false, version: '0', generatedAt: TAKEN_AT });
    return { out, taken: takenAt(spy) };
  } catch (error) {
    return { out: `error: ${String(error)}`, taken: takenAt(spy) };
  } finally {
    stream?.close();
    spy.mockRestore();
    ColumnsReader.fastRows = true;
  }
}

const takenAt = (spy: { mock: { calls: unknown[][]; results: Array<{ value: unknown }> } }): number[] =>
  spy.mock.calls.filter((_, i) => spy.mock.results[i]!.value === true).map((args) => args[0] as number);

/** The reports with the fast path on and off are the same; where the rows it took start. */
async function expectSame(text: string, name: string): Promise<number[]> {
  const general = await report(text, false);
  const fast = await report(text, true);
  expect(general.taken, 'off means off').toEqual([]);
  expect(fast.out, name).toBe(general.out);
  return fast.taken;
}

afterEach(() => {
  ColumnsReader.fastRows = true;
});

describe('the fast path of a socket row reads what the general path reads', () => {
  it('on every lsof fixture (and it takes their plain TCP rows)', async () => {
    const dirs = ['fixtures/lsof', 'fixtures/lsof-sock', 'fixtures/pasted'];
    const files = dirs.flatMap((d) => readdirSync(join(ROOT, d)).filter((f) => f.endsWith('.txt')).map((f) => join(d, f)));
    let taken = 0;
    for (const file of files) {
      const text = spawnSync('cat', [join(ROOT, file)], { encoding: 'latin1' }).stdout;
      taken += (await expectSame(text, file)).length;
    }
    expect(taken).toBeGreaterThan(10);
  });

  // A process's rows as lsof -n prints them (fixtures/lsof/wide-command.txt), a plain row first so
  // that the head is known, then one row of each shape, then a plain row again.
  const HEADER = 'COMMAND     PID   USER   FD   TYPE DEVICE SIZE/OFF NODE NAME';
  const plain = (fd: number, port: number, state = 'ESTABLISHED'): string =>
    `cw-srv        9   root   ${String(fd).padStart(2)}u  IPv4 6338${String(fd).padStart(2, '0')}      0t0  TCP 127.0.0.1:47101->127.0.0.1:${port} (${state})`;
  const SHAPES: Array<[string, string, boolean]> = [
    // [what, row, whether the fast path may take it]
    ['close-wait', plain(20, 43500, 'CLOSE_WAIT'), true],
    ['odd widths', 'cw-srv        9   root 21u IPv4 633821 0t0 TCP 127.0.0.1:47101->127.0.0.1:43501 (ESTABLISHED)', true],
    ['tabs between columns', 'cw-srv        9   root\t22u\tIPv4\t633822\t0t0\tTCP\t127.0.0.1:47101->127.0.0.1:43502 (ESTABLISHED)', true],
    ['trailing blanks', `${plain(23, 43503)}   `, true],
    ['"*NNN" fd', 'cw-srv        9   root *024u  IPv4 633824      0t0  TCP 127.0.0.1:47101->127.0.0.1:43504 (ESTABLISHED)', true],
    ['fd with mode and lock', 'cw-srv        9   root   25uW  IPv4 633825      0t0  TCP 127.0.0.1:47101->127.0.0.1:43505 (ESTABLISHED)', true],
    ['fd with a bad mode', 'cw-srv        9   root   26q  IPv4 633826      0t0  TCP 127.0.0.1:47101->127.0.0.1:43506 (ESTABLISHED)', false],
    ['fd of 11 digits', 'cw-srv        9   root 12345678901u  IPv4 633827      0t0  TCP 127.0.0.1:47101->127.0.0.1:43507 (ESTABLISHED)', false],
    ['no SIZE/OFF', 'cw-srv        9   root   28u  IPv4 633828  TCP 127.0.0.1:47101->127.0.0.1:43508 (ESTABLISHED)', false],
    ['no DEVICE', 'cw-srv        9   root   29u  IPv4      0t0  TCP 127.0.0.1:47101->127.0.0.1:43509 (ESTABLISHED)', false],
    ['no NAME', 'cw-srv        9   root   30u  IPv4 633830      0t0  TCP', false],
    ['inode with a leading 0', 'cw-srv        9   root   31u  IPv4 0633831      0t0  TCP 127.0.0.1:47101->127.0.0.1:43511 (ESTABLISHED)', false],
    ['inode 0', 'cw-srv        9   root   32u  IPv4 0      0t0  TCP 127.0.0.1:47101->127.0.0.1:43512 (ESTABLISHED)', false],
    ['inode past 2^32', 'cw-srv        9   root   33u  IPv4 4294967296      0t0  TCP 127.0.0.1:47101->127.0.0.1:43513 (ESTABLISHED)', false],
    ['inode not a number', 'cw-srv        9   root   34u  IPv4 0x63383      0t0  TCP 127.0.0.1:47101->127.0.0.1:43514 (ESTABLISHED)', false],
    ['UDP', 'cw-srv        9   root   35u  IPv4 633835      0t0  UDP 127.0.0.1:47101->127.0.0.1:43515 ', false],
    ['TCPX node', 'cw-srv        9   root   36u  IPv4 633836      0t0  TCPX 127.0.0.1:47101->127.0.0.1:43516 (ESTABLISHED)', false],
    ['IPv6', 'cw-srv        9   root   37u  IPv6 633837      0t0  TCP [::1]:47101->[::1]:43517 (ESTABLISHED)', false],
    ['v4-mapped IPv6', 'cw-srv        9   root   38u  IPv6 633838      0t0  TCP 127.0.0.1:47101->127.0.0.1:43518 (ESTABLISHED)', false],
    ['LISTEN', 'cw-srv        9   root   39u  IPv4 633839      0t0  TCP 127.0.0.1:47199 (LISTEN)', false],
    ['FIN_WAIT2', plain(40, 43520, 'FIN_WAIT2'), false],
    ['queues', plain(41, 43521, 'CLOSE_WAIT QR=1 QS=0'), false],
    ['hosts by name', 'cw-srv        9   root   42u  IPv4 633842      0t0  TCP localhost:47101->localhost:43522 (ESTABLISHED)', false],
    ['port past 65535', 'cw-srv        9   root   43u  IPv4 633843      0t0  TCP 127.0.0.1:47101->127.0.0.1:70000 (ESTABLISHED)', false],
    ['text after the state', `${plain(44, 43524)} x`, false],
    ['a name with spaces', 'cw-srv        9   root   45u  IPv4 633845      0t0  TCP 127.0.0.1:47101 -> 127.0.0.1:43525 (ESTABLISHED)', false],
    ['another user', 'cw-srv        9   nobody   46u  IPv4 633846      0t0  TCP 127.0.0.1:47101->127.0.0.1:43526 (ESTABLISHED)', false],
    ['another process', 'cw-srv       10   root   47u  IPv4 633847      0t0  TCP 127.0.0.1:47101->127.0.0.1:43527 (ESTABLISHED)', false],
    ['the same fd again', plain(2, 43402), true],
    ['a unix row', 'cw-srv        9   root   48u  unix 0x0000000012345678      0t0 633848 type=STREAM (CONNECTED)', false],
    ['a sock row', "cw-srv        9   root   49u  sock                0,9      0t0 633849 can't identify protocol", false],
  ];

  for (const [what, row, mayTake] of SHAPES) {
    it(`${what}${mayTake ? '' : ' (falls back)'}`, async () => {
      const text = [HEADER, plain(1, 43401), plain(2, 43402), row, plain(50, 43550), plain(51, 43551)].join('\n');
      const taken = await expectSame(text, what);
      // the second plain row is taken (the first sets the head); the row itself only if it may be
      expect(taken).toContain(text.indexOf(plain(2, 43402)));
      expect(taken.includes(text.lastIndexOf(row)), `${what}: taken`).toBe(mayTake);
    });
  }

  it('CRLF line ends, and rows pasted indented under a prompt', async () => {
    const rows = [HEADER, plain(1, 43401), plain(2, 43402, 'CLOSE_WAIT'), plain(3, 43403)];
    expect(await expectSame(rows.join('\r\n') + '\r\n', 'CRLF')).toHaveLength(2);
    const pasted = ['$ sudo lsof -n -p 9', ...rows.map((r) => `    ${r}`), '$ '].join('\n');
    await expectSame(pasted, 'pasted');
  });

  it('a thread\'s rows (TID column) repeating its process\'s sockets', async () => {
    const text = spawnSync('cat', [join(ROOT, 'fixtures/lsof/threads-K.txt')], { encoding: 'latin1' }).stdout;
    await expectSame(text, 'threads-K');
    await expectSame(text + text, 'threads-K twice');
  });
});
