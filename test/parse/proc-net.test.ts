/**
 * The /proc/net parsers on real tables (fixtures/proc-net/), strict (the live default) and with a
 * lenient LineSink (captured text); then every text format of the same capture run must describe the
 * same sockets: /proc/net, lsof, ss -e and netstat -e agree on state and endpoints per inode.
 */
import { describe, expect, it } from 'vitest';
import { readColumns } from './lsof/read.js';
import { parseNetstat } from '../../src/parse/netstat.js';
import { parseProcNetInet, parseSelectedRows, selectInetRows } from '../../src/parse/proc-net-inet.js';
import { selectInetRowsUnless } from '../../src/parse/proc-net-inet-select.js';
import type { InetTable } from '../../src/parse/proc-net-inet.js';
import { parseProcNetOther } from '../../src/parse/proc-net-other.js';
import { parseProcNetUnix } from '../../src/parse/proc-net-unix.js';
import { parseSs } from '../../src/parse/ss.js';
import type { Socket } from '../../src/model/socket.js';
import { LineSink } from '../../src/util/skips.js';
import { expectFast, expectValidRecords, fixture, fuzz } from './fuzz.js';
import { countBy, ep, lenient } from './parsed-fixtures.js';

const inet = (table: InetTable, name = `${table}.txt`): Socket[] => {
  const text = fixture(`proc-net/${name}`);
  const out = parseProcNetInet(text, `proc-net/${name}`, table, null, 'LE');
  expectValidRecords({ sockets: out }, text.split('\n').length);
  return out;
};

describe('/proc/net tables (strict, as live-process reads them)', () => {
  it('decodes tcp: every state, inode 0 where no fd holds the socket, padded rows', () => {
    const tcp = inet('tcp');
    expect(fixture('proc-net/tcp.txt').split('\n')[1]).toMatch(/ {10}$/); // rows are space-padded
    expect(countBy(tcp.map((s) => `${s.state} ${s.inode === '0' ? 'ino0' : 'fd'}`))).toEqual({
      'CLOSE_WAIT fd': 4, 'CLOSE_WAIT ino0': 2, 'CLOSING fd': 1, 'ESTABLISHED fd': 16, 'ESTABLISHED ino0': 3,
      'FIN_WAIT1 fd': 1, 'FIN_WAIT2 fd': 3, 'FIN_WAIT2 ino0': 6, 'LAST_ACK fd': 1, 'LISTEN fd': 10,
      'SYN_RECV ino0': 1, 'SYN_SENT fd': 2, 'TIME_WAIT ino0': 12,
    });
    const listener = tcp.find((s) => s.local?.port === 47102 && s.state === 'LISTEN')!;
    expect(listener).toEqual({
      proto: 'tcp', family: 'inet', state: 'LISTEN', detail: null,
      local: { address: '127.0.0.1', port: 47102 }, remote: { address: '0.0.0.0', port: 0 },
      rxQueue: 5, txQueue: 0, backlog: null, uid: 0, inode: '635119', owners: [], netns: null,
      origin: { source: 'proc-net/tcp.txt', line: 10 },
    });
  });

  it('decodes tcp6 (word-swapped addresses) with v4-mapped rows, udp, udp6', () => {
    expect(inet('tcp6').map((s) => `${s.state} ${ep(s.local)} ${ep(s.remote)} ${s.inode}`)).toEqual([
      'LISTEN :::47121 :::0 635159',
      'LISTEN ::1:47120 :::0 635158',
      'ESTABLISHED ::1:45722 ::1:47120 635160',
      'FIN_WAIT2 ::1:45732 ::1:47120 0',
      'CLOSE_WAIT ::1:47120 ::1:45732 635165',
      'ESTABLISHED ::ffff:127.0.0.1:47121 ::ffff:127.0.0.1:47874 635163',
      'ESTABLISHED ::1:47120 ::1:45722 635161',
      'CLOSE_WAIT ::ffff:127.0.0.1:47121 ::ffff:127.0.0.1:47888 635167',
    ]);
    expect([...inet('udp'), ...inet('udp6')].map((s) => `${s.detail} ${ep(s.local)} ${ep(s.remote)} rx=${s.rxQueue} ${s.inode}`)).toEqual([
      'ESTAB 127.0.0.1:47113 127.0.0.1:47130 rx=0 635169',
      'UNCONN 127.0.0.1:47130 0.0.0.0:0 rx=832 635168',
      'UNCONN ::1:47131 :::0 rx=0 635170',
    ]);
  });

  it('decodes unix (path with a space, unaccepted inode 0) and netlink', () => {
    const unix = parseProcNetUnix(fixture('proc-net/unix.txt'), 'proc-net/unix.txt');
    expect(unix.map((s) => `${s.detail} ${ep(s.local)} ${s.inode}`)).toEqual([
      'STREAM CONNECTED /tmp/leaklab/lab.sock 635173',
      'STREAM CONNECTED - 635172',
      'STREAM CONNECTED - 635177',
      'STREAM CONNECTED - 635174',
      'STREAM CONNECTED - 635178',
      'STREAM LISTEN /tmp/leaklab/lab.sock 635171',
      'STREAM LISTEN /tmp/leaklab/with space.sock 635175',
      'STREAM CONNECTING /tmp/leaklab/lab.sock 0',
      'DGRAM UNCONNECTED @leaklab-abstract 635176',
    ]);
    const netlink = parseProcNetOther(fixture('proc-net/netlink.txt'), 'proc-net/netlink.txt', 'netlink');
    expect(netlink.length).toBeGreaterThan(0);
    expect(netlink.every((s) => s.proto === 'netlink' && /^\d+$/.test(s.inode!))).toBe(true);
  });

  it('gives nothing for header-only tables (empty netns, no raw sockets)', () => {
    expect(inet('tcp', 'header-only-tcp.txt')).toEqual([]);
    expect(inet('raw')).toEqual([]);
  });

  it('keeps the strict default for live reads: a bad row throws', () => {
    expect(() => parseProcNetInet(fixture('proc-net/bad-truncated-tcp.txt'), 'proc-net/bad-truncated-tcp.txt', 'tcp', null, 'LE')).toThrowErrorMatchingInlineSnapshot(`[InputError: proc-net/bad-truncated-tcp.txt:13: expected at least 10 columns, found 5 (line: "11: 0100007F:B7FD 0100007F:A9C0 08 00000000:00000001")]`);
    expect(() => parseProcNetUnix(fixture('proc-net/bad-garbage-unix.txt'), 'proc-net/bad-garbage-unix.txt')).toThrowErrorMatchingInlineSnapshot(`[InputError: proc-net/bad-garbage-unix.txt:2: expected "Num: RefCount Protocol Flags Type St Inode [Path]" (line: "00000000d798543c: ��\\x00\\x1b[7m\\x01 00000000 00000000 0001 03 635173 ...")]`);
    expect(() => parseProcNetInet('', '/proc/net/tcp')).toThrowErrorMatchingInlineSnapshot(`[InputError: /proc/net/tcp: empty input: expected the /proc/net header line]`);
    expect(() => parseProcNetUnix(fixture('proc-net/tcp.txt'), '/proc/net/unix')).toThrowErrorMatchingInlineSnapshot(`[InputError: /proc/net/unix:1: expected the /proc/net/unix header "Num RefCount Protocol Flags Type St Inode Path" (line: "sl  local_address rem_address   st tx_queue rx_queue tr tm->...")]`);
  });
});

describe('/proc/net tables with a lenient LineSink (captured text)', () => {
  it('skips exactly the damaged line', () => {
    const sink = lenient();
    expect(parseProcNetInet(fixture('proc-net/bad-truncated-tcp.txt'), 'x', 'tcp', null, 'LE', sink)).toHaveLength(inet('tcp').length - 1);
    expect(sink.skipped.map((s) => [s.line, s.reason])).toEqual([[13, 'expected at least 10 columns, found 5']]);
    const unixSink = lenient();
    expect(parseProcNetUnix(fixture('proc-net/bad-garbage-unix.txt'), 'x', null, unixSink)).toHaveLength(8);
    expect(unixSink.count).toBe(1);
  });

  it('reads tables concatenated into one capture (header lines anywhere) and tolerates a lost header', () => {
    const text = `${fixture('proc-net/tcp.txt')}${fixture('proc-net/tcp.txt')}`;
    const sink = lenient();
    expect(parseProcNetInet(text, 'x', 'tcp', null, 'LE', sink)).toHaveLength(2 * inet('tcp').length);
    expect(sink.count).toBe(0);
    const headless = fixture('proc-net/tcp.txt').split('\n').slice(1).join('\n');
    expect(parseProcNetInet(headless, 'x', 'tcp', null, 'LE', lenient())).toHaveLength(inet('tcp').length);
    expect(parseProcNetUnix('', 'x', null, lenient())).toEqual([]);
    expect(parseProcNetOther('garbage\n', 'x', 'netlink', null, lenient())).toEqual([]);
  });
});

describe('every format of one capture run describes the same sockets', () => {
  const key = (s: Socket): string => `${s.proto} ${s.state ?? s.detail} ${ep(s.local)} ${s.remote === null || s.remote.port === 0 ? '-' : ep(s.remote)}`;
  const byInode = (list: Socket[]): Map<string, string> => new Map(list.filter((s) => s.inode !== null && s.inode !== '0').map((s) => [s.inode!, key(s)]));
  const proc = byInode([...inet('tcp'), ...inet('tcp6'), ...inet('udp'), ...inet('udp6')]);

  it('lsof -nP -Tqs -i', () => {
    const lsof = readColumns(fixture('lsof/tcp-udp-queues.txt'), 'x');
    expect(lsof.sockets).toHaveLength(proc.size);
    for (const [inode, k] of byInode(lsof.sockets)) expect(proc.get(inode), inode).toBe(k);
  });

  it('ss -tanpie', () => {
    const ss = byInode(parseSs(fixture('ss/tanpie.txt'), 'x'));
    for (const [inode, k] of ss) expect(proc.get(inode), inode).toBe(k);
    expect(ss.size).toBe([...proc.values()].filter((k) => k.startsWith('tcp')).length);
  });

  it('netstat -antpe', () => {
    const netstat = byInode(parseNetstat(fixture('netstat/antpe.txt'), 'x'));
    for (const [inode, k] of netstat) expect(proc.get(inode), inode).toBe(k);
    expect(netstat.size).toBe(ss().size);
  });

  it('ownerless rows (inode 0) are the ones ss and netstat show without a process', () => {
    const zero = (list: Socket[]): Record<string, number> => countBy(list.filter((s) => s.inode === '0').map((s) => `${s.state}`));
    const unowned = (list: Socket[]): Record<string, number> => countBy(list.filter((s) => s.owners.length === 0).map((s) => `${s.state}`));
    const fromProc = zero([...inet('tcp'), ...inet('tcp6')]);
    expect(unowned(parseSs(fixture('ss/tanp.txt'), 'x'))).toEqual(fromProc);
    expect(unowned(parseNetstat(fixture('netstat/natp.txt'), 'x'))).toEqual(fromProc);
  });

  function ss(): Map<string, string> {
    return byInode(parseSs(fixture('ss/tanpie.txt'), 'x'));
  }
});

describe('/proc/net parsers: properties', () => {
  const tcp = [fixture('proc-net/tcp.txt'), fixture('proc-net/tcp6.txt'), fixture('proc-net/udp.txt')];
  const unix = [fixture('proc-net/unix.txt')];
  const other = [fixture('proc-net/netlink.txt')];
  const runInet = (text: string, sink: LineSink) => ({ sockets: parseProcNetInet(text, 'fuzz', 'tcp', null, 'LE', sink) });
  const runInet6 = (text: string, sink: LineSink) => ({ sockets: parseProcNetInet(text, 'fuzz', 'udp6', null, 'LE', sink) });
  const runUnix = (text: string, sink: LineSink) => ({ sockets: parseProcNetUnix(text, 'fuzz', null, sink) });
  const runOther = (text: string, sink: LineSink) => ({ sockets: parseProcNetOther(text, 'fuzz', 'netlink', null, sink) });

  it('throw only InputError (strict), never throw (lenient), return valid records: random and mutated input', () => {
    fuzz(runInet, tcp, 0x7c9);
    fuzz(runInet6, tcp, 0x7c6);
    fuzz(runUnix, unix, 0x0a1);
    fuzz(runOther, other, 0x0b2);
  });

  it('never hang: 5 MB on one line, 5 MB of short lines, pathological repeats', () => {
    expectFast(runInet, tcp[0]!);
    expectFast(runUnix, unix[0]!);
    expectFast(runOther, other[0]!);
  }, 300_000); // 3 parsers x 14 inputs of 5 MB: the bound is per input (fuzz.ts expectFast)
});

describe('keep(inode): only the rows a live diagnosis can use (its own, and inode 0)', () => {
  const every = (n: number) => (list: Socket[]): Set<string> => new Set(list.filter((_, i) => i % n === 0).map((s) => s.inode!));

  it('gives exactly the kept rows of a full parse, for each kind of table', () => {
    for (const [name, table] of [['tcp.txt', 'tcp'], ['tcp6.txt', 'tcp6'], ['udp.txt', 'udp'], ['udp6.txt', 'udp6']] as const) {
      const text = fixture(`proc-net/${name}`);
      const all = parseProcNetInet(text, name, table, null, 'LE');
      const wanted = every(3)(all);
      expect(parseProcNetInet(text, name, table, null, 'LE', undefined, (inode) => wanted.has(inode)), name).toEqual(all.filter((s) => wanted.has(s.inode!)));
    }
    const unixText = fixture('proc-net/unix.txt');
    const unix = parseProcNetUnix(unixText, 'unix.txt');
    const unixWanted = every(2)(unix);
    expect(parseProcNetUnix(unixText, 'unix.txt', null, undefined, (inode) => unixWanted.has(inode))).toEqual(unix.filter((s) => unixWanted.has(s.inode!)));
    const netlinkText = fixture('proc-net/netlink.txt');
    const netlink = parseProcNetOther(netlinkText, 'netlink.txt', 'netlink');
    const netlinkWanted = every(2)(netlink);
    expect(parseProcNetOther(netlinkText, 'netlink.txt', 'netlink', null, undefined, (inode) => netlinkWanted.has(inode)))
      .toEqual(netlink.filter((s) => netlinkWanted.has(s.inode!)));
  });

  it('passes over a damaged row it does not keep, unchecked; a damaged row it keeps still throws', () => {
    // Row 10 (the 127.0.0.1:47102 listener, inode 635119) with its state damaged.
    const lines = fixture('proc-net/tcp.txt').split('\n');
    lines[9] = lines[9]!.replace(' 0A ', ' ZZ ');
    const text = lines.join('\n');
    const error = 'proc-net/tcp.txt:10: expected state as 2 hex digits, found "ZZ"';
    expect(() => parseProcNetInet(text, 'proc-net/tcp.txt', 'tcp', null, 'LE')).toThrow(error);
    expect(() => parseProcNetInet(text, 'proc-net/tcp.txt', 'tcp', null, 'LE', undefined, (inode) => inode === '635119')).toThrow(error);
    expect(parseProcNetInet(text, 'proc-net/tcp.txt', 'tcp', null, 'LE', undefined, (inode) => inode !== '635119')).toHaveLength(inet('tcp').length - 1);
    // A row too short to have an inode column cannot be passed over: it is an error, kept or not.
    expect(() => parseProcNetInet(fixture('proc-net/bad-truncated-tcp.txt'), 'x', 'tcp', null, 'LE', undefined, () => false)).toThrow('expected at least 10 columns, found 5');
  });

  it('in two steps (selectInetRows, then parseSelectedRows) gives what one pass gives, and the kept inodes first', () => {
    for (const [name, table] of [['tcp.txt', 'tcp'], ['tcp6.txt', 'tcp6'], ['udp.txt', 'udp'], ['header-only-tcp.txt', 'tcp']] as const) {
      const text = fixture(`proc-net/${name}`);
      const all = parseProcNetInet(text, name, table, null, 'LE');
      const wanted = every(3)(all);
      const keep = (inode: string): boolean => wanted.has(inode);
      const selection = selectInetRows(text, keep);
      const rows = parseSelectedRows(text, selection, name, table, null, 'LE');
      expect(rows, name).toEqual(parseProcNetInet(text, name, table, null, 'LE', undefined, keep));
      expect(selection.kept, name).toEqual(rows.map((r) => r.inode));
      expect(selection.unjudged, name).toBe(0);
    }
    // Damaged rows: the same errors, at the same lines; a row too short to be judged is counted as such.
    const lines = fixture('proc-net/tcp.txt').split('\n');
    lines[9] = lines[9]!.replace(' 0A ', ' ZZ ');
    const damaged = lines.join('\n');
    expect(() => parseSelectedRows(damaged, selectInetRows(damaged, (inode) => inode === '635119'), 'proc-net/tcp.txt', 'tcp', null, 'LE'))
      .toThrow('proc-net/tcp.txt:10: expected state as 2 hex digits, found "ZZ"');
    const truncated = fixture('proc-net/bad-truncated-tcp.txt');
    expect(selectInetRows(truncated, () => false).unjudged).toBe(1);
    expect(() => parseSelectedRows(truncated, selectInetRows(truncated, () => false), 'x', 'tcp', null, 'LE')).toThrow('expected at least 10 columns, found 5');
    expect(() => parseSelectedRows('', selectInetRows('', () => true), 'x', 'tcp')).toThrow('empty input');
  });

  it('selectInetRowsUnless: the same selection while stop says no, nothing once it says yes', () => {
    // A long table: the captured rows again and again (stop is asked every 1,024 lines).
    const [header, ...rows] = fixture('proc-net/tcp.txt').trimEnd().split('\n');
    const text = `${[header, ...Array.from({ length: Math.ceil(3000 / rows.length) }, () => rows).flat()].join('\n')}\n`;
    const keep = (inode: string, st: string): boolean => st === '0A' || inode.endsWith('9');
    const asked: number[] = [];
    const whole = selectInetRowsUnless(text, keep, (offset) => { asked.push(offset); return false; });
    expect(whole).toEqual(selectInetRows(text, keep));
    expect(asked.length).toBe(Math.floor(whole!.total / 1024));
    expect(asked.every((offset, i) => text[offset - 1] === '\n' && (i === 0 || offset > asked[i - 1]!))).toBe(true); // line starts, in order
    let questions = 0;
    expect(selectInetRowsUnless(text, keep, () => ++questions === 2)).toBeUndefined();
    expect(questions).toBe(2);
  });
});
