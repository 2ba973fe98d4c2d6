import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseProcNetInet } from '../../src/parse/proc-net-inet.js';
import { kernelRow, NetTally, TALLY_TABLES, tallyProcNet } from '../../src/parse/proc-net-tally.js';

describe('tallyProcNet: scan\'s count-only reading of /proc/net tables', () => {
  const FIXTURES = fileURLToPath(new URL('../../fixtures/proc-net/', import.meta.url));
  // The full parser (proc-net-inet.ts, used by diagnose) is the reference: same inodes, same states.
  const reference = (file: string, text: string): { inodes: number[]; states: Record<string, number> } => {
    const states: Record<string, number> = {};
    const sockets = parseProcNetInet(text, `${FIXTURES}${file}.txt`, file as 'tcp');
    for (const s of sockets) if (s.state !== null) states[s.state] = (states[s.state] ?? 0) + 1;
    return { inodes: sockets.map((s) => Number(s.inode ?? 0)).filter((i) => i !== 0).sort((a, b) => a - b), states };
  };
  const tally = (file: string, text: string): { inodes: number[]; states: Record<string, number>; rows: number } => {
    const t = tallyProcNet(Buffer.from(text, 'latin1'), `${FIXTURES}${file}.txt`, file);
    return { inodes: [...t.inodes].sort((a, b) => a - b), states: t.tcpByState, rows: Object.values(t.rows)[0]! };
  };

  it.each(['tcp', 'tcp6', 'udp', 'udp6', 'raw'])('agrees with the full parser on the captured %s table', (file) => {
    const text = readFileSync(`${FIXTURES}${file}.txt`, 'latin1');
    const ref = reference(file, text);
    const got = tally(file, text);
    expect(got.inodes).toEqual(ref.inodes);
    expect(got.rows).toBe(text.split('\n').filter((l) => l.trim() !== '').length - 1);
    if (file.startsWith('tcp')) {
      expect(got.states).toEqual(ref.states);
      expect(Object.keys(got.states).length).toBeGreaterThan(file === 'tcp' ? 5 : 2); // the fixtures hold many states
    }
  });

  it.each(['tcp', 'tcp6', 'udp'])('reads %s rows with other spacing to the same result', (file) => {
    const text = readFileSync(`${FIXTURES}${file}.txt`, 'latin1');
    // Wider gaps after the row number, a tab before the state.
    const odd = text.split('\n').map((l, i) => (i === 0 ? l : l.replace(': ', ':   ').replace(/ ([0-9A-F]{2}) /, '\t$1 '))).join('\n');
    expect(odd).not.toBe(text);
    expect(tally(file, odd)).toEqual(tally(file, text));
  });

  it('keeps the row number\'s width free: 10,000 rows and more print it wider', () => {
    const [header, row] = readFileSync(`${FIXTURES}tcp.txt`, 'latin1').split('\n') as [string, string];
    const wide = `${header}\n${row.replace(/^ *\d+:/, '12345:')}\n`;
    expect(tally('tcp', wide).inodes).toEqual(tally('tcp', `${header}\n${row}\n`).inodes);
  });
});

describe('NetTally.table: a table in pieces of whole lines, as scan reads it (ProcFileReader.pieces)', () => {
  const FIXTURES = fileURLToPath(new URL('../../fixtures/proc-net/', import.meta.url));
  /** The text cut after every `every`-th line, and a last piece of what follows the last "\n". */
  const cut = (text: string, every: number): Buffer[] => {
    const lines = text.split(/(?<=\n)/);
    const pieces: Buffer[] = [];
    for (let i = 0; i < lines.length; i += every) pieces.push(Buffer.from(lines.slice(i, i + every).join(''), 'latin1'));
    return [...pieces, Buffer.alloc(0)];
  };
  const inPieces = (file: string, pieces: readonly Buffer[]): ReturnType<NetTally['result']> => {
    const tally = new NetTally('LE');
    const each = tally.table(file, TALLY_TABLES.find((t) => t.file === file)!);
    for (const piece of pieces) each(piece);
    return tally.result();
  };

  it.each(['tcp', 'tcp6', 'udp', 'unix', 'netlink'])('counts the captured %s table in pieces as it counts it whole', (file) => {
    const text = readFileSync(`${FIXTURES}${file}.txt`, 'latin1');
    const whole = tallyProcNet(Buffer.from(text, 'latin1'), file, file, 'LE');
    expect(whole.inodes.size).toBeGreaterThan(1);
    for (const every of [1, 2, 7]) expect(inPieces(file, cut(text, every))).toEqual(whole);
  });

  it('names the line of a bad row in a later piece as it does in the whole table', () => {
    const text = readFileSync(`${FIXTURES}tcp.txt`, 'latin1').split('\n');
    text[5] = text[5]!.replace(/ \d+ (\d+ [0-9a-f]{16})/, ' 12x $1'); // the inode column
    const bad = text.join('\n');
    const whole = (): unknown => tallyProcNet(Buffer.from(bad, 'latin1'), 'tcp', 'tcp', 'LE');
    expect(whole).toThrow(/^tcp:6: expected a decimal inode/);
    expect(() => inPieces('tcp', cut(bad, 2))).toThrow(/^tcp:6: expected a decimal inode/);
    expect(() => inPieces('tcp', [Buffer.alloc(0)])).toThrow(/unexpected header/);
  });
});

describe('the busiest TIME_WAIT destination', () => {
  const header = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
  const row = (local: string, remote: string, st: string): string => `   0: ${local} ${remote} ${st} 00000000:00000000 00:00000000 00000000     0        0 0 1\n`;
  it('decodes the endpoint as the full parser does, and leaves out TIME_WAIT on a listener\'s port', () => {
    const text = header + row('0100007F:1F90', '00000000:0000', '0A') + row('0100007F:1F90', '0200007F:B000', '06')
      + row('0100007F:B7AD', '0300007F:0CEA', '06') + row('0100007F:B7AE', '0300007F:0CEA', '06');
    const full = parseProcNetInet(text, 'tcp', 'tcp', null, 'LE').filter((s) => s.state === 'TIME_WAIT' && s.local!.port !== 8080);
    expect(full.map((s) => `${s.remote!.address}:${s.remote!.port}`)).toEqual(['127.0.0.3:3306', '127.0.0.3:3306']);
    expect(tallyProcNet(Buffer.from(text), 'tcp', 'tcp', 'LE').busiestPeer).toEqual({ endpoint: '127.0.0.3:3306', count: 2 });
  });
  it('writes an IPv6 one in brackets', () => {
    const text = header + row('00000000000000000000000001000000:B7AD', '00000000000000000000000001000000:01BB', '06');
    expect(tallyProcNet(Buffer.from(text), 'tcp6', 'tcp6', 'LE').busiestPeer).toEqual({ endpoint: '[::1]:443', count: 1 });
  });
});

describe('kernelRow: inet rows read by position, as the kernel lays them out', () => {
  const FIXTURES = fileURLToPath(new URL('../../fixtures/proc-net/', import.meta.url));
  /** For each data row of `text`: kernelRow's columns 1, 2, 3 and 9 as text, or null where it declined the row. */
  const byPosition = (text: string, digits: number): Array<string[] | null> => {
    const buf = Buffer.from(text, 'latin1');
    const starts = new Int32Array(11);
    const ends = new Int32Array(11);
    const rows: Array<string[] | null> = [];
    for (let i = buf.indexOf(10) + 1; i < buf.length; ) {
      const nl = buf.indexOf(10, i);
      const end = kernelRow(buf, i, buf.length, digits, starts, ends);
      rows.push(end < 0 ? null : [1, 2, 3, 9].map((c) => buf.toString('latin1', starts[c], ends[c])));
      if (end >= 0) expect(end).toBe(nl < 0 ? buf.length : nl);
      i = nl < 0 ? buf.length : nl + 1;
    }
    return rows;
  };
  /** The same columns as a whitespace split of each data row gives them: the tokenizer's reading. */
  const bySplit = (text: string): string[][] =>
    text.split('\n').slice(1).filter((l) => l.trim() !== '').map((l) => l.trim().split(/[ \t]+/)).map((c) => [c[1]!, c[2]!, c[3]!.slice(0, 2), c[9]!]);

  it.each([['tcp', 8], ['tcp6', 32], ['udp', 8], ['udp6', 32]] as const)('reads every row of the captured %s table, and reads it as a whitespace split does', (file, digits) => {
    const text = readFileSync(`${FIXTURES}${file}.txt`, 'latin1');
    const rows = byPosition(text, digits);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows).toEqual(bySplit(text)); // none declined, each the same columns
  });

  it('declines a row laid out otherwise (spacing, a tab, a wider field, the other family), which the tokenizer then reads', () => {
    const [header, row] = readFileSync(`${FIXTURES}tcp.txt`, 'latin1').split('\n') as [string, string];
    const odd = [
      row.replace(': ', ':  '), // wider gap after the row number
      row.replace(/ ([0-9A-F]{2}) /, '\t$1 '), // a tab before the state
      row.replace(/ (\d+) (\d+ [0-9a-f]{16})/, '\t$1 $2'), // a tab before the inode
      row.replace(/:([0-9A-F]{4}) /, ':0$1 '), // a port of 5 digits
      row.slice(0, 60), // cut short
    ];
    for (const r of odd) expect(byPosition(`${header}\n${r}\n`, 8), r).toEqual([null]);
    expect(byPosition(`${header}\n${row}\n`, 32)).toEqual([null]);
    // Declined rows and read rows together count as the whole table read either way.
    const mixed = `${header}\n${[row, ...odd.slice(0, 3), row].join('\n')}\n`;
    const t = tallyProcNet(Buffer.from(mixed, 'latin1'), 'tcp', 'tcp', 'LE');
    expect(t.rows.tcp).toBe(5);
    expect(t.inodes.size).toBe(1); // the same socket five times
  });

  it('reads uid, timeout and inode of any width, and still rejects an inode that is not one', () => {
    const [header, row] = readFileSync(`${FIXTURES}tcp.txt`, 'latin1').split('\n') as [string, string];
    const wide = row.replace(/ +(\d+) +(\d+) (\d+) /, ' 4294967294 -12345678 4294967295 ');
    expect(byPosition(`${header}\n${wide}\n`, 8)).toEqual(bySplit(`${header}\n${wide}\n`));
    expect([...tallyProcNet(Buffer.from(`${header}\n${wide}\n`, 'latin1'), 'tcp', 'tcp', 'LE').inodes]).toEqual([4294967295]);
    const bad = row.replace(/ \d+ (\d+ [0-9a-f]{16})/, ' 12x4 $1'); // the inode column
    expect(() => tallyProcNet(Buffer.from(`${header}\n${bad}\n`, 'latin1'), 'tcp', 'tcp', 'LE')).toThrow(/^tcp:2: expected a decimal inode, found "12x4"/);
  });
});
