/**
 * parseSs on real iproute2 ss 6.1 captures (fixtures/ss/): states, endpoints, queues and backlog,
 * owners (several after fork(), per thread with -T), inodes with -e, continuation lines of -i.
 */
import { describe, expect, it } from 'vitest';
import { parseToolEndpoint } from '../../src/parse/endpoint.js';
import { parseSs } from '../../src/parse/ss.js';
import type { Socket } from '../../src/model/socket.js';
import { LineSink } from '../../src/util/skips.js';
import { expectFast, fixture, fuzz } from './fuzz.js';
import { countBy, ep, lenient, parseClean, showWith } from './parsed-fixtures.js';

const parse = (name: string): Socket[] => parseClean(`ss/${name}`, (text, source, sink) => ({ sockets: parseSs(text, source, { sink }) })).sockets;
const show = showWith({ backlog: true });
const ALL_STATES = {
  'tcp CLOSE_WAIT': 8, 'tcp CLOSING': 1, 'tcp ESTABLISHED': 22, 'tcp FIN_WAIT1': 1, 'tcp FIN_WAIT2': 10,
  'tcp LAST_ACK': 1, 'tcp LISTEN': 12, 'tcp SYN_RECV': 1, 'tcp SYN_SENT': 2, 'tcp TIME_WAIT': 12,
};

describe('parseSs: ss -tanp', () => {
  const out = parse('tanp.txt');

  it('decodes every TCP state into kernel names, with counts', () => {
    expect(countBy(out.map((s) => `${s.proto} ${s.state}`))).toEqual(ALL_STATES);
  });

  it('reads listeners: Recv-Q is the accept queue, Send-Q the backlog limit', () => {
    expect(out.filter((s) => s.state === 'LISTEN').map(show)).toEqual([
      'tcp LISTEN 127.0.0.1:3306 - q=0/null/64 ino=null mysqld:22:3',
      'tcp LISTEN 127.0.0.1:47170 - q=0/null/16 ino=null nb-lab:41:3',
      'tcp LISTEN 127.0.0.1:47150 - q=0/null/16 ino=null share-child:33:3,share:32:3',
      'tcp LISTEN 127.0.0.1:47140 - q=0/null/16 ino=null thr-main:29:3',
      'tcp LISTEN 127.0.0.1:47160 - q=0/null/16 ino=null wnd-srv:34:3',
      'tcp LISTEN 127.0.0.1:47161 - q=0/null/16 ino=null wnd-srv:34:5',
      'tcp LISTEN 127.0.0.1:47162 - q=0/null/16 ino=null wnd-srv:34:6',
      'tcp LISTEN 127.0.0.1:47101 - q=0/null/16 ino=null cw-srv:9:3',
      'tcp LISTEN 127.0.0.1:47102 - q=5/null/4 ino=null bl-srv:14:3',
      'tcp LISTEN 127.0.0.1:47103 - q=0/null/16 ino=null da-srv:19:3',
      'tcp LISTEN :::47121 - q=0/null/16 ino=null v6lab:26:5',
      'tcp LISTEN ::1:47120 - q=0/null/16 ino=null v6lab:26:3',
    ]);
  });

  it('reads the children nobody accepted: no owner, CLOSE_WAIT once the client left', () => {
    expect(out.filter((s) => s.local?.port === 47102 && s.state !== 'LISTEN').map(show)).toEqual([
      'tcp CLOSE_WAIT 127.0.0.1:47102 127.0.0.1:47542 q=1/0/null ino=null ',
      'tcp ESTABLISHED 127.0.0.1:47102 127.0.0.1:47558 q=0/0/null ino=null ',
      'tcp CLOSE_WAIT 127.0.0.1:47102 127.0.0.1:47526 q=1/0/null ino=null ',
      'tcp ESTABLISHED 127.0.0.1:47102 127.0.0.1:47574 q=0/0/null ino=null ',
      'tcp ESTABLISHED 127.0.0.1:47102 127.0.0.1:47516 q=21/0/null ino=null ',
    ]);
  });

  it('reads the per-request client: TIME_WAIT rows to 127.0.0.1:3306 without owner', () => {
    const tw = out.filter((s) => s.state === 'TIME_WAIT');
    expect(tw).toHaveLength(12);
    expect(new Set(tw.map((s) => `${ep(s.remote)} ${s.owners.length}`))).toEqual(new Set(['127.0.0.1:3306 0']));
  });

  it('reads the rarer states with their queues', () => {
    expect(out.filter((s) => ['SYN_SENT', 'SYN_RECV', 'LAST_ACK', 'FIN_WAIT1', 'CLOSING'].includes(s.state!)).map(show)).toEqual([
      'tcp CLOSING 127.0.0.1:58340 127.0.0.1:47162 q=0/8193/null ino=null wnd-cli:38:6',
      'tcp SYN_SENT 127.0.0.1:47590 127.0.0.1:47102 q=0/1/null ino=null bl-cli:15:9',
      'tcp SYN_SENT 127.0.0.1:47600 127.0.0.1:47102 q=0/1/null ino=null bl-cli:15:11',
      'tcp LAST_ACK 127.0.0.1:47160 127.0.0.1:49130 q=0/2985985/null ino=null wnd-srv:34:7',
      'tcp FIN_WAIT1 127.0.0.1:42086 127.0.0.1:47161 q=0/8193/null ino=null wnd-cli:38:5',
      'tcp SYN_RECV 127.0.0.1:47103 127.0.0.1:46146 q=0/0/null ino=null ',
    ]);
  });

  it('reads IPv6 in brackets, the "*" dual-stack wildcard and v4-mapped addresses', () => {
    expect(out.filter((s) => s.family === 'inet6').map(show)).toEqual([
      'tcp LISTEN :::47121 - q=0/null/16 ino=null v6lab:26:5',
      'tcp LISTEN ::1:47120 - q=0/null/16 ino=null v6lab:26:3',
      'tcp ESTABLISHED ::1:45722 ::1:47120 q=0/0/null ino=null v6lab:26:6',
      'tcp FIN_WAIT2 ::1:45732 ::1:47120 q=0/0/null ino=null ',
      'tcp CLOSE_WAIT ::1:47120 ::1:45732 q=1/0/null ino=null v6lab:26:12',
      'tcp ESTABLISHED ::ffff:127.0.0.1:47121 ::ffff:127.0.0.1:47874 q=0/0/null ino=null v6lab:26:9',
      'tcp ESTABLISHED ::1:47120 ::1:45722 q=0/0/null ino=null v6lab:26:7',
      'tcp CLOSE_WAIT ::ffff:127.0.0.1:47121 ::ffff:127.0.0.1:47888 q=1/0/null ino=null v6lab:26:13',
    ]);
  });

  it('gives a socket shared after fork() both owners', () => {
    expect(out.filter((s) => s.owners.length > 1).map((s) => s.owners)).toEqual([
      [{ command: 'share-child', pid: 33, fd: 3 }, { command: 'share', pid: 32, fd: 3 }],
      [{ command: 'share-child', pid: 33, fd: 6 }, { command: 'share', pid: 32, fd: 6 }],
      [{ command: 'share-child', pid: 33, fd: 5 }, { command: 'share', pid: 32, fd: 5 }],
    ]);
  });

  it('reads the same rows without header (-H) and without -n (service names)', () => {
    const plain = (list: Socket[]): string[] => list.map((s) => show(s));
    expect(plain(parse('Htanp.txt'))).toEqual(plain(out));
    const named = parse('names-resolved.txt');
    expect(named.filter((s) => s.owners[0]?.command === 'mysqld').map(show)).toEqual([
      'tcp LISTEN 127.0.0.1:3306 - q=0/null/64 ino=null mysqld:22:3',
      'tcp ESTABLISHED 127.0.0.1:3306 127.0.0.1:35846 q=0/0/null ino=null mysqld:22:5',
    ]);
  });
});

describe('parseSs: other listings', () => {
  it('reads -e (ino:, uid:) and folds -i continuation lines into the row above', () => {
    const out = parse('tanpie.txt');
    expect(fixture('ss/tanpie.txt').split('\n').filter((l) => l.startsWith('\t'))).toHaveLength(70);
    expect(countBy(out.map((s) => `${s.proto} ${s.state}`))).toEqual(ALL_STATES);
    expect(out.filter((s) => s.owners[0]?.pid === 9).map(show)).toEqual([
      'tcp LISTEN 127.0.0.1:47101 - q=0/null/16 ino=634787 cw-srv:9:3',
      'tcp CLOSE_WAIT 127.0.0.1:47101 127.0.0.1:43456 q=1/0/null ino=633807 cw-srv:9:7',
      'tcp CLOSE_WAIT 127.0.0.1:47101 127.0.0.1:43460 q=1/0/null ino=633808 cw-srv:9:8',
      'tcp CLOSE_WAIT 127.0.0.1:47101 127.0.0.1:43440 q=1/0/null ino=633800 cw-srv:9:5',
      'tcp CLOSE_WAIT 127.0.0.1:47101 127.0.0.1:43448 q=1/0/null ino=633806 cw-srv:9:6',
      'tcp ESTABLISHED 127.0.0.1:47101 127.0.0.1:43474 q=3000/0/null ino=633809 cw-srv:9:9',
    ]);
    expect(countBy(out.filter((s) => s.owners.length === 0).map((s) => `${s.state} ino=${s.inode}`))).toEqual({
      'CLOSE_WAIT ino=0': 2, 'ESTABLISHED ino=0': 3, 'FIN_WAIT2 ino=0': 7, 'SYN_RECV ino=0': 1, 'TIME_WAIT ino=0': 12,
    });
    expect(out.filter((s) => s.uid !== null).map((s) => [s.owners[0]?.command, s.uid])).toEqual([
      ['nb-lab', 65534], ['nb-lab', 65534], ['nb-lab', 65534],
    ]);
  });

  it('reads ss -ltn (listeners only, backlog limits, no owners)', () => {
    expect(parse('ltn.txt').map((s) => `${ep(s.local)} ${s.rxQueue}/${s.backlog} ${s.owners.length}`)).toEqual([
      '127.0.0.1:3306 0/64 0', '127.0.0.1:47170 0/16 0', '127.0.0.1:47150 0/16 0', '127.0.0.1:47140 0/16 0',
      '127.0.0.1:47160 0/16 0', '127.0.0.1:47161 0/16 0', '127.0.0.1:47162 0/16 0', '127.0.0.1:47101 0/16 0',
      '127.0.0.1:47102 5/4 0', '127.0.0.1:47103 0/16 0', ':::47121 0/16 0', '::1:47120 0/16 0',
    ]);
  });

  it('reads UDP (-uanp: UNCONN means udp without a Netid column)', () => {
    expect(parse('uanp.txt').map((s) => `${s.family} ${show(s)}`)).toEqual([
      'inet udp ESTAB 127.0.0.1:47113 127.0.0.1:47130 q=0/0/null ino=null udp lab:27:5',
      'inet udp UNCONN 127.0.0.1:47130 - q=832/0/null ino=null udp lab:27:3',
      'inet6 udp UNCONN ::1:47131 - q=0/0/null ino=null udp lab:27:6',
    ]);
  });

  it('reads unix sockets (-xanp): path with a space, inode in the port column, /proc/net/unix words', () => {
    expect(parse('xanp.txt').map(show)).toEqual([
      'unix STREAM CONNECTED /tmp/leaklab/lab.sock - q=0/0/null ino=635173 unix-lab:28:6',
      'unix STREAM CONNECTED - - q=0/0/null ino=635172 unix-lab:28:5',
      'unix STREAM CONNECTED - - q=0/0/null ino=635177 unix-lab:28:11',
      'unix STREAM CONNECTED - - q=0/0/null ino=635174 unix-lab:28:7',
      'unix STREAM CONNECTED - - q=0/0/null ino=635178 unix-lab:28:12',
      'unix STREAM LISTEN /tmp/leaklab/lab.sock - q=1/null/8 ino=635171 unix-lab:28:3',
      'unix STREAM LISTEN /tmp/leaklab/with space.sock - q=0/null/1 ino=635175 unix-lab:28:8',
      'unix DGRAM UNCONNECTED @leaklab-abstract - q=0/0/null ino=635176 unix-lab:28:9',
    ]);
  });

  it('reads -T (a users:() tuple per thread): one owner per (pid, fd), named by the main thread', () => {
    const out = parse('tanpT.txt');
    expect(out.filter((s) => s.owners[0]?.pid === 29).map(show)).toEqual([
      'tcp LISTEN 127.0.0.1:47140 - q=0/null/16 ino=null thr-main:29:3',
      'tcp ESTABLISHED 127.0.0.1:57272 127.0.0.1:47140 q=0/0/null ino=null thr-main:29:5',
      'tcp ESTABLISHED 127.0.0.1:47140 127.0.0.1:57272 q=0/0/null ino=null thr-main:29:6',
    ]);
    expect(fixture('ss/tanpT.txt')).toContain('("thr worker1",pid=29,tid=31,fd=3)');
  });

  it('reads the Netid column of -tuanp', () => {
    expect(countBy(parse('tuanp.txt').map((s) => `${s.proto} ${s.state ?? s.detail}`))).toEqual({
      ...ALL_STATES, 'udp ESTAB': 1, 'udp UNCONN': 2,
    });
  });

  it('reads a single-state listing (no State column): the state is unknown, not guessed', () => {
    const out = parse('state-close-wait.txt');
    expect(out).toHaveLength(8);
    expect(out.every((s) => s.state === null && s.rxQueue === 1)).toBe(true);
  });

  it('reads a non-root listing: owners only for the user\'s own sockets', () => {
    const out = parse('nonroot.txt');
    expect(countBy(out.map((s) => `${s.state}`))).toEqual(countBy(parse('tanp.txt').map((s) => `${s.state}`)));
    expect(new Set(out.flatMap((s) => s.owners.map((o) => o.command)))).toEqual(new Set(['nb-lab']));
  });

  it('gives nothing for header-only output', () => {
    expect(parse('header-only.txt')).toEqual([]);
  });
});

describe('parseToolEndpoint', () => {
  it('reads the address forms of ss, netstat and lsof', () => {
    const cases: Array<[string, 'inet' | 'inet6' | 'ss']> = [
      ['127.0.0.1:47101', 'inet'], ['[::1]:47120', 'ss'], ['*:47121', 'ss'], ['*:*', 'inet'], ['[::]:*', 'ss'],
      ['[::ffff:127.0.0.1]:47121', 'ss'], ['127.0.0.1:47121', 'inet6'], ['::1:47020', 'inet6'], [':::*', 'inet6'],
      ['127.0.0.53%lo:53', 'inet'], ['[fe80::1%eth0]:123', 'ss'], ['localhost:mysql', 'inet'], ['localhost:nosuchsvc', 'inet'],
      ['2001:db8:1234:5678:9abc:de:47', 'inet6'], ['127.0.0.1:65536', 'inet'], ['???:80', 'inet'], [':80', 'inet'], ['80', 'inet'],
    ];
    expect(cases.map(([t, f]) => `${t} -> ${JSON.stringify(parseToolEndpoint(t, f))}`)).toEqual([
      '127.0.0.1:47101 -> {"address":"127.0.0.1","port":47101}',
      '[::1]:47120 -> {"address":"::1","port":47120}',
      '*:47121 -> {"address":"::","port":47121}',
      '*:* -> {"address":"0.0.0.0","port":0}',
      '[::]:* -> {"address":"::","port":0}',
      '[::ffff:127.0.0.1]:47121 -> {"address":"::ffff:127.0.0.1","port":47121}',
      '127.0.0.1:47121 -> {"address":"::ffff:127.0.0.1","port":47121}',
      '::1:47020 -> {"address":"::1","port":47020}',
      ':::* -> {"address":"::","port":0}',
      '127.0.0.53%lo:53 -> {"address":"127.0.0.53","port":53}',
      '[fe80::1%eth0]:123 -> {"address":"fe80::1","port":123}',
      'localhost:mysql -> {"address":"localhost","port":3306}',
      'localhost:nosuchsvc -> {"address":"localhost","port":null}',
      '2001:db8:1234:5678:9abc:de:47 -> {"address":"2001:db8:1234:5678:9abc:de","port":47}',
      '127.0.0.1:65536 -> null',
      '???:80 -> null',
      ':80 -> null',
      '80 -> null',
    ]);
  });
});

describe('parseSs: damaged captures', () => {
  it('stops at a truncated row in strict mode', () => {
    expect(() => parseSs(fixture('ss/bad-truncated.txt'), 'ss/bad-truncated.txt')).toThrowErrorMatchingInlineSnapshot(`[InputError: ss/bad-truncated.txt:13: expected local and peer as ADDRESS:PORT (line: "CLOSE-WAIT 1      0")]`);
  });

  it('stops at garbage bytes in strict mode, with a printable message', () => {
    expect(() => parseSs(fixture('ss/bad-garbage.txt'), 'ss/bad-garbage.txt')).toThrowErrorMatchingInlineSnapshot(`[InputError: ss/bad-garbage.txt:2: expected "[Netid] [State] Recv-Q Send-Q Local Peer" with numeric queues (line: "LISTEN     ��\\x00\\x1b[7m\\x01      64               127.0.0.1:3306    ...")]`);
  });

  it('skips exactly the damaged line in lenient mode', () => {
    for (const name of ['bad-truncated.txt', 'bad-garbage.txt']) {
      const sink = lenient();
      const out = parseSs(fixture(`ss/${name}`), name, { sink });
      expect(sink.count).toBe(1);
      expect(out).toHaveLength(69);
    }
  });
});

describe('parseSs: properties', () => {
  const captures = ['tanp.txt', 'tanpie.txt', 'xanp.txt', 'tuanp.txt', 'tanpT.txt', 'uanp.txt'].map((n) => fixture(`ss/${n}`));
  const run = (text: string, sink: LineSink) => ({ sockets: parseSs(text, 'fuzz', { sink }) });

  it('throws only InputError (strict), never throws (lenient), returns valid records: random and mutated input', () => {
    fuzz(run, captures, 0x55);
  });

  it('never hangs: 5 MB on one line, pathological repeats', () => {
    expectFast(run, captures[0]!);
  }, 120_000); // 14 inputs of 5 MB: the bound is per input (fuzz.ts expectFast)
});
