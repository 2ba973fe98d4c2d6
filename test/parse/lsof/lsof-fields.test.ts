/**
 * readFields on real `lsof -F` captures (fixtures/lsof-F/): the same records as the column
 * listing, from whichever fields were asked for, NL- or NUL-terminated.
 */
import { describe, expect, it } from 'vitest';
import { readColumns, readFields } from './read.js';
import type { Socket } from '../../../src/model/socket.js';
import { LineSink } from '../../../src/util/skips.js';
import { expectFast, fixture, fuzz } from '../fuzz.js';
import { countBy, ep, lenient, parseClean, show } from '../parsed-fixtures.js';

const parse = (name: string) => parseClean(`lsof-F/${name}`, readFields);

describe('readFields: lsof -nP -i -F pcfnPtT (TST= TQR= TQS= lines)', () => {
  const out = parse('pcfnPtT-i.txt');

  it('decodes states and queues from the T fields', () => {
    expect(countBy(out.sockets.map((s) => `${s.proto} ${s.state ?? s.detail}`))).toEqual({
      'tcp CLOSE_WAIT': 6, 'tcp CLOSING': 1, 'tcp ESTABLISHED': 19, 'tcp FIN_WAIT1': 1, 'tcp FIN_WAIT2': 3,
      // 13, not 12: without an inode ("d" not asked for) the listener share and share-child hold
      // after fork() cannot be told from two listeners (SO_REUSEPORT), so it stays one per fd
      'tcp LAST_ACK': 1, 'tcp LISTEN': 13, 'tcp SYN_SENT': 2, 'udp ESTAB': 1, 'udp UNCONN': 2,
    });
    expect(out.sockets.filter((s) => s.owners[0]?.pid === 9 || s.state === 'LAST_ACK' || s.proto === 'udp').map(show)).toEqual([
      'tcp LISTEN 127.0.0.1:47101 - q=0/0 ino=null cw-srv:9:3',
      'tcp CLOSE_WAIT 127.0.0.1:47101 127.0.0.1:43440 q=1/0 ino=null cw-srv:9:5',
      'tcp CLOSE_WAIT 127.0.0.1:47101 127.0.0.1:43448 q=1/0 ino=null cw-srv:9:6',
      'tcp CLOSE_WAIT 127.0.0.1:47101 127.0.0.1:43456 q=1/0 ino=null cw-srv:9:7',
      'tcp CLOSE_WAIT 127.0.0.1:47101 127.0.0.1:43460 q=1/0 ino=null cw-srv:9:8',
      'tcp ESTABLISHED 127.0.0.1:47101 127.0.0.1:43474 q=3000/0 ino=null cw-srv:9:9',
      'udp UNCONN 127.0.0.1:47130 - q=832/0 ino=null udp lab:27:3',
      'udp ESTAB 127.0.0.1:47113 127.0.0.1:47130 q=0/0 ino=null udp lab:27:5',
      'udp UNCONN ::1:47131 - q=0/0 ino=null udp lab:27:6',
      'tcp LAST_ACK 127.0.0.1:47160 127.0.0.1:49130 q=0/2985985 ino=null wnd-srv:34:7',
    ]);
  });

  it('points records at the "n" line of their set', () => {
    expect(out.sockets[1]!.origin).toEqual({ source: 'lsof-F/pcfnPtT-i.txt', line: 13 });
    expect(fixture('lsof-F/pcfnPtT-i.txt').split('\n')[12]).toBe('n127.0.0.1:47101->127.0.0.1:43440');
  });

  it('keeps a connected socket shared after fork() as one socket with two owners', () => {
    expect(out.sockets.filter((s) => s.remote?.port === 47150 || s.local?.port === 47150).map(show)).toEqual([
      'tcp LISTEN 127.0.0.1:47150 - q=0/0 ino=null share:32:3',
      'tcp ESTABLISHED 127.0.0.1:60744 127.0.0.1:47150 q=0/0 ino=null share:32:5,share-child:33:5',
      'tcp ESTABLISHED 127.0.0.1:47150 127.0.0.1:60744 q=0/0 ino=null share:32:6,share-child:33:6',
      'tcp LISTEN 127.0.0.1:47150 - q=0/0 ino=null share-child:33:3',
    ]);
  });

  it('reads -F0 (NUL-terminated fields, one set per line) to the same records', () => {
    const nul = parse('F0-i.txt');
    expect(fixture('lsof-F/F0-i.txt')).toContain('\0');
    expect(nul.sockets.map(show)).toEqual(out.sockets.map(show));
    expect(nul.processes).toEqual(out.processes);
  });
});

describe('readFields: other field selections', () => {
  it('reads many fields at once: uid, inode (i, and d for IPv4), hints, unix state from TST', () => {
    const out = parse('many-fields.txt');
    expect(out.processes.map((p) => [p.pid, p.command, p.uid, p.fdCount])).toEqual([
      [25, 'unbound', 0, 13], [27, 'udp lab', 0, 9], [28, 'unix-lab', 0, 19],
    ]);
    expect(out.fds.filter((f) => f.hint !== null).map((f) => `${f.fd} ${f.inode} ${f.hint}`)).toEqual([
      '3 635151 TCP', '5 635152 UDP', '6 635153 TCPv6', '7 635154 TCP', '8 635155 TCP', '9 635156 TCP', '11 635157 TCP',
    ]);
    expect(out.sockets.map(show)).toEqual([
      'udp UNCONN 127.0.0.1:47130 - q=832/0 ino=635168 udp lab:27:3',
      'udp ESTAB 127.0.0.1:47113 127.0.0.1:47130 q=0/0 ino=635169 udp lab:27:5',
      'udp UNCONN ::1:47131 - q=0/0 ino=635170 udp lab:27:6',
      'unix STREAM LISTEN /tmp/leaklab/lab.sock - q=null/null ino=635171 unix-lab:28:3',
      'unix STREAM CONNECTED - - q=null/null ino=635172 unix-lab:28:5',
      'unix STREAM CONNECTED /tmp/leaklab/lab.sock - q=null/null ino=635173 unix-lab:28:6',
      'unix STREAM CONNECTED - - q=null/null ino=635174 unix-lab:28:7',
      'unix STREAM LISTEN /tmp/leaklab/with - q=null/null ino=635175 unix-lab:28:8',
      'unix DGRAM UNCONNECTED @leaklab-abstract - q=null/null ino=635176 unix-lab:28:9',
      'unix STREAM CONNECTED - - q=null/null ino=635177 unix-lab:28:11',
      'unix STREAM CONNECTED - - q=null/null ino=635178 unix-lab:28:12',
    ]);
  });

  it('agrees with the column listing of the same processes', () => {
    const fields = parse('many-fields.txt');
    const columns = readColumns(fixture('lsof/sockets-files.txt'), 'lsof/sockets-files.txt', lenient());
    const fd = (f: { pid: number; fd: number; kind: string; inode: string | null; hint: string | null }): string => `${f.pid}/${f.fd} ${f.kind} ${f.inode} ${f.hint}`;
    // (the column listing has no -T queues here, and cuts "udp lab" to 9 characters)
    const socket = (s: Socket): string => `${s.proto} ${s.state ?? s.detail} ${ep(s.local)} ${ep(s.remote)} ${s.inode} ${s.owners.map((o) => `${o.pid}:${o.fd}`)}`;
    expect(fields.fds.map(fd)).toEqual(columns.fds.map(fd));
    expect(fields.sockets.map(socket)).toEqual(columns.sockets.map(socket));
  });

  it('counts thread sets (K, M) once per fd and counts the threads', () => {
    const out = parse('threads.txt');
    expect(out.processes.map((p) => [p.pid, p.command, p.fdCount, p.threads])).toEqual([[29, 'thr-main', 4, 3]]);
    // no "P" asked for: the IPv4 fds are sockets, but TCP or UDP is unknown, so no socket rows
    expect(out.fds.map((f) => `${f.fd} ${f.kind}`)).toEqual(['3 socket', '4 pipe', '5 socket', '6 socket']);
    expect(out.sockets).toEqual([]);
  });

  it('reads list-everything output (thread sets repeat "p" without K)', () => {
    const out = parse('list-everything.txt');
    expect([out.processes.length, out.fds.length, out.sockets.length]).toEqual([24, 213, 57]);
    expect(countBy(out.fds.map((f) => f.kind))).toEqual({ anon_inode: 2, file: 97, pipe: 48, socket: 66 });
  });

  it('skips warnings (which start with "l", like the lock field) and reads NOFD', () => {
    const out = parse('nonroot.txt');
    expect(out.processes.filter((p) => p.fdTableComplete).map((p) => [p.pid, p.command, p.fdCount])).toEqual([
      [41, 'nb-lab', 9], [178, 'lsof', 7], [179, 'lsof', 2],
    ]);
    expect(out.processes.filter((p) => !p.fdTableComplete)).toHaveLength(21);
  });

  it('reads -F n (no "f": sets split at a repeated tag) as processes with unknown fd tables', () => {
    const out = parse('n-only.txt');
    expect(out.processes).toHaveLength(16);
    expect(out.processes.every((p) => p.command === '?' && !p.fdTableComplete && p.fdCount === 0)).toBe(true);
    expect([out.fds, out.sockets]).toEqual([[], []]);
  });

  it('restores fd numbers of 10000 and up, cut to "f*000" in -F output too; no "i": no inode', () => {
    const out = parse('truncated-fd-numbers.txt');
    expect(fixture('lsof-F/truncated-fd-numbers.txt')).toContain('\nf*000\n');
    expect(out.fds.map((f) => `${f.fd} ${f.kind} ${f.inode} ${f.hint}`)).toEqual([
      '9997 socket null TCP', '9998 socket null TCP', '9999 socket null TCP', '10000 socket null TCP', '10001 socket null TCP',
      '10002 socket null TCP', '10998 socket null TCP', '10999 socket null TCP', '11000 socket null TCP', '11001 socket null TCP',
    ]);
  });

  it('gives nothing for empty output', () => {
    expect(parse('empty.txt')).toEqual({ processes: [], fds: [], sockets: [] });
  });
});

describe('readFields: damaged captures', () => {
  it('names an unknown field tag in strict mode', () => {
    expect(() => readFields(fixture('lsof-F/bad-unknown-tag.txt'), 'lsof -F output')).toThrowErrorMatchingInlineSnapshot(`[InputError: lsof -F output:14: unknown field tag "Z" (line: "ZST=CLOSE_WAIT")]`);
  });

  it('stops at a garbage address in strict mode, with a printable message', () => {
    expect(() => readFields(fixture('lsof-F/bad-garbage.txt'), 'lsof-F/bad-garbage.txt')).toThrowErrorMatchingInlineSnapshot(`[InputError: lsof-F/bad-garbage.txt:50: expected ADDRESS:PORT[->ADDRESS:PORT] in NAME, found "��\\x1b[7m\\x01" (line: "n��\\x1b[7m\\x01")]`);
  });

  it('skips exactly the damaged line in lenient mode', () => {
    const whole = parse('pcfnPtT-i.txt');
    for (const name of ['bad-unknown-tag.txt', 'bad-garbage.txt']) {
      const sink = lenient();
      const out = readFields(fixture(`lsof-F/${name}`), name, sink);
      expect(sink.count).toBe(1);
      expect(out.fds).toHaveLength(whole.fds.length - (name === 'bad-garbage.txt' ? 1 : 0));
    }
    // the set that lost its TST line still reads, with its state unknown
    const tagless = readFields(fixture('lsof-F/bad-unknown-tag.txt'), 'x', lenient());
    expect(tagless.sockets.filter((s) => s.proto === 'tcp' && s.state === null).map(show)).toEqual(['tcp null 127.0.0.1:47101 127.0.0.1:43440 q=1/0 ino=null cw-srv:9:5']);
  });
});

describe('readFields: properties', () => {
  const captures = ['pcfnPtT-i.txt', 'F0-i.txt', 'many-fields.txt', 'threads.txt', 'nonroot.txt', 'n-only.txt'].map((n) => fixture(`lsof-F/${n}`));
  const run = (text: string, sink: LineSink) => readFields(text, 'fuzz', sink);

  it('throws only InputError (strict), never throws (lenient), returns valid records: random and mutated input', () => {
    fuzz(run, captures, 0xf1e1d);
  });

  it('never hangs: 5 MB on one line, pathological repeats', () => {
    expectFast(run, captures[0]!);
  }, 120_000); // 14 inputs of 5 MB: the bound is per input (fuzz.ts expectFast)
});
