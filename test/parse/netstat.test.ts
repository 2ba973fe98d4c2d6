/**
 * parseNetstat on real net-tools netstat 2.10 captures (fixtures/netstat/): inet and unix
 * sections, -p/-e/-o columns, IPv6 without brackets, v4-mapped rows, non-root notes.
 */
import { describe, expect, it } from 'vitest';
import { parseNetstat } from '../../src/parse/netstat.js';
import type { Socket } from '../../src/model/socket.js';
import { LineSink } from '../../src/util/skips.js';
import { expectFast, fixture, fuzz } from './fuzz.js';
import { countBy, lenient, parseClean, showWith } from './parsed-fixtures.js';

const parse = (name: string): Socket[] => parseClean(`netstat/${name}`, (text, source, sink) => ({ sockets: parseNetstat(text, source, sink) })).sockets;
const show = showWith({ fd: false });
const TCP_STATES = {
  'tcp CLOSE_WAIT': 8, 'tcp CLOSING': 1, 'tcp ESTABLISHED': 22, 'tcp FIN_WAIT1': 1, 'tcp FIN_WAIT2': 10,
  'tcp LAST_ACK': 1, 'tcp LISTEN': 12, 'tcp SYN_RECV': 1, 'tcp SYN_SENT': 2, 'tcp TIME_WAIT': 12,
};

describe('parseNetstat: netstat -anp (inet and unix sections)', () => {
  const out = parse('anp.txt');

  it('reads both sections, every TCP state, UDP and unix', () => {
    expect(countBy(out.map((s) => `${s.proto} ${s.state ?? s.detail}`))).toEqual({
      ...TCP_STATES, 'udp ESTAB': 1, 'udp UNCONN': 2,
      'unix DGRAM UNCONNECTED': 1, 'unix STREAM CONNECTED': 5, 'unix STREAM CONNECTING': 1, 'unix STREAM LISTEN': 2,
    });
  });

  it('reads the leak: CLOSE_WAIT owned by the server, and the unaccepted ones owned by nobody', () => {
    expect(out.filter((s) => s.state === 'CLOSE_WAIT').map(show)).toEqual([
      'tcp CLOSE_WAIT 127.0.0.1:47101 127.0.0.1:43456 q=1/0 ino=null python3:9',
      'tcp CLOSE_WAIT 127.0.0.1:47102 127.0.0.1:47542 q=1/0 ino=null ',
      'tcp CLOSE_WAIT 127.0.0.1:47101 127.0.0.1:43460 q=1/0 ino=null python3:9',
      'tcp CLOSE_WAIT 127.0.0.1:47102 127.0.0.1:47526 q=1/0 ino=null ',
      'tcp CLOSE_WAIT 127.0.0.1:47101 127.0.0.1:43440 q=1/0 ino=null python3:9',
      'tcp CLOSE_WAIT 127.0.0.1:47101 127.0.0.1:43448 q=1/0 ino=null python3:9',
      'tcp CLOSE_WAIT ::1:47120 ::1:45732 q=1/0 ino=null python3:26',
      'tcp CLOSE_WAIT ::ffff:127.0.0.1:47121 ::ffff:127.0.0.1:47888 q=1/0 ino=null python3:26',
    ]);
    expect(out[0]).toEqual({
      proto: 'tcp', family: 'inet', state: 'LISTEN', detail: null,
      local: { address: '127.0.0.1', port: 3306 }, remote: null,
      rxQueue: 0, txQueue: 0, backlog: null, uid: null, inode: null,
      owners: [{ pid: 22, fd: null, command: 'python3' }], netns: null,
      origin: { source: 'netstat/anp.txt', line: 3 },
    });
  });

  it('reads IPv6 without brackets and v4-mapped tcp6 rows (plain IPv4 text)', () => {
    expect(out.filter((s) => s.family === 'inet6').map(show)).toEqual([
      'tcp LISTEN :::47121 - q=0/0 ino=null python3:26',
      'tcp LISTEN ::1:47120 - q=0/0 ino=null python3:26',
      'tcp ESTABLISHED ::1:45722 ::1:47120 q=0/0 ino=null python3:26',
      'tcp FIN_WAIT2 ::1:45732 ::1:47120 q=0/0 ino=null ',
      'tcp CLOSE_WAIT ::1:47120 ::1:45732 q=1/0 ino=null python3:26',
      'tcp ESTABLISHED ::ffff:127.0.0.1:47121 ::ffff:127.0.0.1:47874 q=0/0 ino=null python3:26',
      'tcp ESTABLISHED ::1:47120 ::1:45722 q=0/0 ino=null python3:26',
      'tcp CLOSE_WAIT ::ffff:127.0.0.1:47121 ::ffff:127.0.0.1:47888 q=1/0 ino=null python3:26',
      'udp UNCONN ::1:47131 - q=0/0 ino=null python3:27',
    ]);
  });

  it('reads the unix section: [ ACC ] flags, blank state, fixed-width PID/Program, paths', () => {
    expect(out.filter((s) => s.proto === 'unix').map(show)).toEqual([
      'unix STREAM CONNECTED /tmp/leaklab/lab.sock - q=null/null ino=635173 python3:28',
      'unix STREAM CONNECTED - - q=null/null ino=635172 python3:28',
      'unix STREAM CONNECTED - - q=null/null ino=635177 python3:28',
      'unix STREAM CONNECTED - - q=null/null ino=635174 python3:28',
      'unix STREAM CONNECTED - - q=null/null ino=635178 python3:28',
      'unix STREAM LISTEN /tmp/leaklab/lab.sock - q=null/null ino=635171 python3:28',
      // netstat, like lsof, cuts "/tmp/leaklab/with space.sock" at the space
      'unix STREAM LISTEN /tmp/leaklab/with - q=null/null ino=635175 python3:28',
      'unix STREAM CONNECTING /tmp/leaklab/lab.sock - q=null/null ino=0 ',
      'unix DGRAM UNCONNECTED @leaklab-abstract - q=null/null ino=635176 python3:28',
    ]);
  });
});

describe('parseNetstat: other listings', () => {
  it('reads -e (User, Inode): inode 0 on the rows no fd holds', () => {
    const out = parse('antpe.txt');
    expect(countBy(out.map((s) => `${s.proto} ${s.state}`))).toEqual(TCP_STATES);
    expect(countBy(out.filter((s) => s.inode === '0').map((s) => `${s.state}`))).toEqual({
      CLOSE_WAIT: 2, ESTABLISHED: 3, FIN_WAIT2: 7, SYN_RECV: 1, TIME_WAIT: 12,
    });
    expect(out.filter((s) => s.uid === 65534).map(show)).toEqual([
      'tcp LISTEN 127.0.0.1:47170 - q=0/0 ino=635494 python3:41',
      'tcp ESTABLISHED 127.0.0.1:34392 127.0.0.1:47170 q=0/0 ino=635495 python3:41',
      'tcp ESTABLISHED 127.0.0.1:47170 127.0.0.1:34392 q=0/0 ino=635496 python3:41',
    ]);
  });

  it('reads -o (Timer column) to the same records as without it', () => {
    const strip = (list: Socket[]): string[] => list.map(show);
    expect(strip(parse('tanpo.txt'))).toEqual(strip(parse('natp.txt')));
    expect(fixture('netstat/tanpo.txt')).toContain('timewait (');
  });

  it('reads UDP: blank State when unconnected', () => {
    expect(parse('uanp.txt').map((s) => `${s.family} ${show(s)}`)).toEqual([
      'inet udp ESTAB 127.0.0.1:47113 127.0.0.1:47130 q=0/0 ino=null python3:27',
      'inet udp UNCONN 127.0.0.1:47130 - q=832/0 ino=null python3:27',
      'inet6 udp UNCONN ::1:47131 - q=0/0 ino=null python3:27',
    ]);
  });

  it('reads -xanp alone', () => {
    expect(parse('xanp.txt').map(show)).toEqual(parse('anp.txt').filter((s) => s.proto === 'unix').map(show));
  });

  it('reads -tn (w/o servers, no PID column): no listeners, no owners', () => {
    const out = parse('tn.txt');
    const { 'tcp LISTEN': _listen, ...rest } = TCP_STATES;
    expect(countBy(out.map((s) => `${s.proto} ${s.state}`))).toEqual(rest);
    expect(out.every((s) => s.owners.length === 0)).toBe(true);
  });

  it('keeps host names and maps service names to ports (no -n)', () => {
    expect(parse('names-resolved.txt').slice(0, 2).map(show)).toEqual([
      'tcp LISTEN localhost:3306 - q=0/0 ino=null python3:22',
      'tcp LISTEN localhost:47170 - q=0/0 ino=null python3:41',
    ]);
  });

  it('skips the two-line non-root note and reads the "-" owners', () => {
    expect(fixture('netstat/nonroot.txt').split('\n').slice(0, 2)).toEqual([
      '(Not all processes could be identified, non-owned process info',
      ' will not be shown, you would have to be root to see it all.)',
    ]);
    const out = parse('nonroot.txt');
    expect(countBy(out.map((s) => `${s.proto} ${s.state}`))).toEqual(TCP_STATES);
    expect(countBy(out.flatMap((s) => s.owners.map((o) => `${o.pid}/${o.command}`)))).toEqual({ '41/python3': 3 });
  });

  it('gives nothing for header-only output', () => {
    expect(parse('header-only.txt')).toEqual([]);
  });
});

describe('parseNetstat: damaged captures', () => {
  it('stops at a truncated row in strict mode', () => {
    expect(() => parseNetstat(fixture('netstat/bad-truncated.txt'), 'netstat/bad-truncated.txt')).toThrowErrorMatchingInlineSnapshot(`[InputError: netstat/bad-truncated.txt:14: expected local and foreign addresses as ADDRESS:PORT (line: "tcp        1      0 127.0.0.1:47101")]`);
  });

  it('stops at garbage bytes in strict mode, with a printable message', () => {
    expect(() => parseNetstat(fixture('netstat/bad-garbage.txt'), 'netstat/bad-garbage.txt')).toThrowErrorMatchingInlineSnapshot(`[InputError: netstat/bad-garbage.txt:3: expected "Proto Recv-Q Send-Q Local Foreign" with numeric queues (line: "tcp        ��\\x00\\x1b[7m\\x01      0 127.0.0.1:3306          0.0.0.0:*...")]`);
  });

  it('skips exactly the damaged line in lenient mode', () => {
    for (const name of ['bad-truncated.txt', 'bad-garbage.txt']) {
      const sink = lenient();
      expect(parseNetstat(fixture(`netstat/${name}`), name, sink)).toHaveLength(69);
      expect(sink.count).toBe(1);
    }
  });

  it('says which line is not netstat output', () => {
    expect(() => parseNetstat('Proto Recv-Q Send-Q Local Address Foreign Address State\nhello world\n', 'stdin')).toThrowErrorMatchingInlineSnapshot(`[InputError: stdin:2: expected a netstat row (Proto tcp, tcp6, udp, udp6, raw, raw6 or unix), found "hello" (line: "hello world")]`);
  });
});

describe('parseNetstat: properties', () => {
  const captures = ['anp.txt', 'tanpo.txt', 'antpe.txt', 'xanp.txt', 'nonroot.txt', 'tn.txt'].map((n) => fixture(`netstat/${n}`));
  const run = (text: string, sink: LineSink) => ({ sockets: parseNetstat(text, 'fuzz', sink) });

  it('throws only InputError (strict), never throws (lenient), returns valid records: random and mutated input', () => {
    fuzz(run, captures, 0x7e7);
  });

  it('never hangs: 5 MB on one line, pathological repeats', () => {
    expectFast(run, captures[1]!);
  }, 120_000); // 14 inputs of 5 MB: the bound is per input (fuzz.ts expectFast)
});
