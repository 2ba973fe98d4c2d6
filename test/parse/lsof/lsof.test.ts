/**
 * readColumns on real lsof 4.95 captures (fixtures/lsof/, made by fixtures/scenarios/capture.sh):
 * decoded records in plain values, then the damaged captures, then property tests.
 */
import { describe, expect, it } from 'vitest';
import { readColumns } from './read.js';
import { LsofReader } from '../../../src/parse/lsof/reader.js';
import { LineSink } from '../../../src/util/skips.js';
import { expectFast, fixture, fuzz } from '../fuzz.js';
import { countBy, lenient, parseClean, show } from '../parsed-fixtures.js';

const parse = (name: string) => parseClean(`lsof/${name}`, readColumns);

describe('readColumns: lsof -nP -Tqs -i (every TCP state, IPv4, IPv6, v4-mapped, UDP, queues)', () => {
  const out = parse('tcp-udp-queues.txt');

  it('decodes every state the scenario produced, with counts', () => {
    expect(countBy(out.sockets.map((s) => `${s.proto} ${s.state ?? s.detail}`))).toEqual({
      'tcp CLOSE_WAIT': 6, 'tcp CLOSING': 1, 'tcp ESTABLISHED': 19, 'tcp FIN_WAIT1': 1, 'tcp FIN_WAIT2': 3,
      'tcp LAST_ACK': 1, 'tcp LISTEN': 12, 'tcp SYN_SENT': 2, 'udp ESTAB': 1, 'udp UNCONN': 2,
    });
  });

  it('reads the leaking server: CLOSE_WAIT with the FIN counted in QR, unread data on ESTABLISHED', () => {
    expect(out.sockets.filter((s) => s.owners[0]?.pid === 9).map(show)).toEqual([
      'tcp LISTEN 127.0.0.1:47101 - q=0/0 ino=634787 cw-srv:9:3',
      'tcp CLOSE_WAIT 127.0.0.1:47101 127.0.0.1:43440 q=1/0 ino=633800 cw-srv:9:5',
      'tcp CLOSE_WAIT 127.0.0.1:47101 127.0.0.1:43448 q=1/0 ino=633806 cw-srv:9:6',
      'tcp CLOSE_WAIT 127.0.0.1:47101 127.0.0.1:43456 q=1/0 ino=633807 cw-srv:9:7',
      'tcp CLOSE_WAIT 127.0.0.1:47101 127.0.0.1:43460 q=1/0 ino=633808 cw-srv:9:8',
      'tcp ESTABLISHED 127.0.0.1:47101 127.0.0.1:43474 q=3000/0 ino=633809 cw-srv:9:9',
    ]);
    expect(out.sockets[1]).toEqual({
      proto: 'tcp', family: 'inet', state: 'CLOSE_WAIT', detail: null,
      local: { address: '127.0.0.1', port: 47101 }, remote: { address: '127.0.0.1', port: 43440 },
      rxQueue: 1, txQueue: 0, backlog: null, uid: null, inode: '633800',
      owners: [{ pid: 9, fd: 5, command: 'cw-srv' }], netns: null,
      origin: { source: 'lsof/tcp-udp-queues.txt', line: 3 },
    });
  });

  it('reads the accept queue of the listener that never accepts, and the SYN_SENT clients', () => {
    expect(out.sockets.filter((s) => s.local?.port === 47102 || s.remote?.port === 47102).map(show)).toEqual([
      'tcp LISTEN 127.0.0.1:47102 - q=5/0 ino=635119 bl-srv:14:3',
      'tcp ESTABLISHED 127.0.0.1:47516 127.0.0.1:47102 q=0/0 ino=633836 bl-cli:15:3',
      'tcp ESTABLISHED 127.0.0.1:47558 127.0.0.1:47102 q=0/0 ino=633840 bl-cli:15:7',
      'tcp ESTABLISHED 127.0.0.1:47574 127.0.0.1:47102 q=0/0 ino=633843 bl-cli:15:8',
      'tcp SYN_SENT 127.0.0.1:47590 127.0.0.1:47102 q=0/1 ino=633846 bl-cli:15:9',
      'tcp SYN_SENT 127.0.0.1:47600 127.0.0.1:47102 q=0/1 ino=633853 bl-cli:15:11',
    ]);
  });

  it('reads IPv6, the dual-stack wildcard and v4-mapped sockets (TYPE IPv6, plain IPv4 text)', () => {
    expect(out.sockets.filter((s) => s.owners[0]?.command === 'v6lab').map((s) => `${s.family} ${show(s)}`)).toEqual([
      'inet6 tcp LISTEN ::1:47120 - q=0/0 ino=635158 v6lab:26:3',
      'inet6 tcp LISTEN :::47121 - q=0/0 ino=635159 v6lab:26:5',
      'inet6 tcp ESTABLISHED ::1:45722 ::1:47120 q=0/0 ino=635160 v6lab:26:6',
      'inet6 tcp ESTABLISHED ::1:47120 ::1:45722 q=0/0 ino=635161 v6lab:26:7',
      'inet tcp ESTABLISHED 127.0.0.1:47874 127.0.0.1:47121 q=0/0 ino=635162 v6lab:26:8',
      'inet6 tcp ESTABLISHED ::ffff:127.0.0.1:47121 ::ffff:127.0.0.1:47874 q=0/0 ino=635163 v6lab:26:9',
      'inet6 tcp CLOSE_WAIT ::1:47120 ::1:45732 q=1/0 ino=635165 v6lab:26:12',
      'inet6 tcp CLOSE_WAIT ::ffff:127.0.0.1:47121 ::ffff:127.0.0.1:47888 q=1/0 ino=635167 v6lab:26:13',
    ]);
  });

  it('reads UDP rows (no state, trailing space) and unescapes COMMAND ("udp\\x20la")', () => {
    expect(out.sockets.filter((s) => s.proto === 'udp').map((s) => `${s.family} ${show(s)}`)).toEqual([
      'inet udp UNCONN 127.0.0.1:47130 - q=832/0 ino=635168 udp la:27:3',
      'inet udp ESTAB 127.0.0.1:47113 127.0.0.1:47130 q=0/0 ino=635169 udp la:27:5',
      'inet6 udp UNCONN ::1:47131 - q=0/0 ino=635170 udp la:27:6',
    ]);
  });

  it('reads LAST_ACK, FIN_WAIT1 and CLOSING with their send queues', () => {
    expect(out.sockets.filter((s) => ['LAST_ACK', 'FIN_WAIT1', 'CLOSING'].includes(s.state ?? '')).map(show)).toEqual([
      'tcp LAST_ACK 127.0.0.1:47160 127.0.0.1:49130 q=0/2985985 ino=635943 wnd-srv:34:7',
      'tcp FIN_WAIT1 127.0.0.1:42086 127.0.0.1:47161 q=0/8193 ino=635947 wnd-cli:38:5',
      'tcp CLOSING 127.0.0.1:58340 127.0.0.1:47162 q=0/8193 ino=635958 wnd-cli:38:6',
    ]);
  });

  it('makes one socket with two owners of a socket shared after fork()', () => {
    expect(out.sockets.filter((s) => s.local?.port === 47150 || s.remote?.port === 47150).map(show)).toEqual([
      'tcp LISTEN 127.0.0.1:47150 - q=0/0 ino=635937 share:32:3,share-chi:33:3',
      'tcp ESTABLISHED 127.0.0.1:60744 127.0.0.1:47150 q=0/0 ino=635938 share:32:5,share-chi:33:5',
      'tcp ESTABLISHED 127.0.0.1:47150 127.0.0.1:60744 q=0/0 ino=635939 share:32:6,share-chi:33:6',
    ]);
    expect(out.fds.filter((f) => f.pid === 33).map((f) => [f.fd, f.kind, f.inode])).toEqual([
      [3, 'socket', '635937'], [5, 'socket', '635938'], [6, 'socket', '635939'],
    ]);
  });

  it('lists each process with the number of fd rows it had', () => {
    expect(out.processes.map((p) => [p.pid, p.command, p.fdCount, p.fdTableComplete])).toEqual([
      [9, 'cw-srv', 6, true], [12, 'cw-cli', 2, true], [14, 'bl-srv', 1, true], [15, 'bl-cli', 5, true],
      [19, 'da-srv', 1, true], [20, 'da-cli', 1, true], [22, 'mysqld', 2, true], [24, 'tw-cli', 1, true],
      [26, 'v6lab', 8, true], [27, 'udp la', 3, true], [29, 'thr-main', 3, true], [32, 'share', 3, true],
      [33, 'share-chi', 3, true], [34, 'wnd-srv', 6, true], [38, 'wnd-cli', 3, true], [41, 'nb-lab', 3, true],
    ]);
  });
});

describe('readColumns: list-everything mode (lsof -nP), TID/TASKCMD columns', () => {
  const out = parse('list-everything.txt');

  it('counts a (pid, fd) repeated on thread rows once, and counts the threads', () => {
    const thr = out.processes.find((p) => p.command === 'thr-main')!;
    expect([thr.pid, thr.fdCount, thr.threads]).toEqual([29, 9, 3]);
    expect(out.fds.filter((f) => f.pid === 29).map((f) => f.fd)).toEqual([0, 1, 2, 3, 4, 5, 6, 10, 251]);
    expect(out.processes.filter((p) => p.threads! > 1).map((p) => [p.command, p.threads])).toEqual([
      ['cw-srv', 2], ['mysqld', 2], ['thr-main', 3],
    ]);
  });

  it('reads every process of the namespace, and one socket per inode', () => {
    expect(out.processes).toHaveLength(24);
    expect(out.fds).toHaveLength(213);
    expect(out.sockets).toHaveLength(56);
    expect(new Set(out.sockets.map((s) => s.inode)).size).toBe(56);
    expect(countBy(out.fds.map((f) => f.kind))).toEqual({ anon_inode: 2, file: 97, pipe: 48, socket: 66 });
  });
});

describe('LsofReader: a capture pasted twice reads as once (repeated rows are known without reading them whole)', () => {
  /** The capture read as analyze reads it (socket fds kept, the rest counted), in one piece. */
  const read = (text: string): unknown => {
    const reader = new LsofReader('lsof', { source: 'x' });
    const { fds, sockets, records } = reader.read(text);
    return { processes: reader.end(), fds, sockets, records };
  };

  it.each(['list-everything.txt', 'threads-K.txt', 'sockets-files.txt'])('%s', (name) => {
    const text = fixture(`lsof/${name}`);
    // a deleted file and a pipe among the repeats too: rows read further than their FD when first met
    // (as fds of their own: an fd number no row of the capture has)
    const deleted = text.split('\n').filter((l) => / \d+[rwu]? +REG /.test(l)).slice(0, 2)
      .map((l) => `${l.trimEnd().replace(/ (\d+)([rwu]?) +REG /, (_m, n: string, mode: string) => ` ${Number(n) + 5000}${mode} REG `)} (deleted)`);
    expect(deleted.length).toBeGreaterThan(0);
    const once = `${text.trimEnd()}\n${deleted.join('\n')}\n`;
    const twice = `${once}${once.split('\n').slice(1).join('\n')}`;
    const first = read(once) as { fds: Array<{ deleted?: boolean }> };
    expect(first.fds.filter((f) => f.deleted === true)).toHaveLength(deleted.length);
    expect(read(twice)).toEqual(first);
  });
});

describe('readColumns: fd kinds, sock rows and unix rows (lsof -nP -p ...)', () => {
  const out = parse('sockets-files.txt');

  it('gives sockets lsof found in no table the protocol hint, and no socket row', () => {
    expect(out.fds.filter((f) => f.hint !== null).map((f) => [f.pid, f.fd, f.kind, f.inode, f.hint, f.target])).toEqual([
      [25, 3, 'socket', '635151', 'TCP', 'protocol: TCP'],
      [25, 5, 'socket', '635152', 'UDP', 'protocol: UDP'],
      [25, 6, 'socket', '635153', 'TCPv6', 'protocol: TCPv6'],
      [25, 7, 'socket', '635154', 'TCP', 'protocol: TCP'],
      [25, 8, 'socket', '635155', 'TCP', 'protocol: TCP'],
      [25, 9, 'socket', '635156', 'TCP', 'protocol: TCP'],
      [25, 11, 'socket', '635157', 'TCP', 'protocol: TCP'],
    ]);
    expect(out.sockets.some((s) => s.owners[0]?.pid === 25)).toBe(false);
  });

  it('reads unix rows as sockets in the unix table, in /proc/net/unix words', () => {
    expect(out.sockets.filter((s) => s.proto === 'unix').map(show)).toEqual([
      'unix STREAM LISTEN /tmp/leaklab/lab.sock - q=null/null ino=635171 unix-lab:28:3',
      'unix STREAM CONNECTED - - q=null/null ino=635172 unix-lab:28:5',
      'unix STREAM CONNECTED /tmp/leaklab/lab.sock - q=null/null ino=635173 unix-lab:28:6',
      'unix STREAM CONNECTED - - q=null/null ino=635174 unix-lab:28:7',
      // lsof cuts a unix path at its first space ("/tmp/leaklab/with space.sock")
      'unix STREAM LISTEN /tmp/leaklab/with - q=null/null ino=635175 unix-lab:28:8',
      'unix DGRAM UNCONNECTED @leaklab-abstract - q=null/null ino=635176 unix-lab:28:9',
      'unix STREAM CONNECTED - - q=null/null ino=635177 unix-lab:28:11',
      'unix STREAM CONNECTED - - q=null/null ino=635178 unix-lab:28:12',
    ]);
  });

  it('reads pipes, anon inodes and files, file names with spaces included', () => {
    expect(out.fds.filter((f) => f.pid === 28 && f.kind !== 'socket').map((f) => [f.fd, f.kind, f.inode, f.target])).toEqual([
      [0, 'file', null, '/dev/null'],
      [1, 'file', null, '/tmp/leaklab/leaklab.log'],
      [2, 'file', null, '/tmp/leaklab/leaklab.log'],
      [4, 'pipe', '634786', 'pipe'],
      [10, 'file', null, '/dev/null'],
      [13, 'pipe', '635179', 'pipe'],
      [14, 'pipe', '635179', 'pipe'],
      [15, 'anon_inode', null, '[eventfd:26]'],
      [16, 'anon_inode', null, '[eventpoll]'],
      [17, 'file', null, '/tmp/leaklab/open file.log'],
      [251, 'pipe', '634743', 'pipe'],
    ]);
  });
});

describe('readColumns: other shapes', () => {
  it('keeps "can\'t identify protocol" sockets as socket fds without a hint (lsof -X)', () => {
    const out = parse('no-protocol-X.txt');
    expect(countBy(out.fds.map((f) => `${f.kind} ${f.hint}`))).toEqual({ 'pipe null': 2, 'socket null': 12 });
    expect(out.sockets).toEqual([]);
  });

  it('skips lsof warnings and marks processes whose fd directory was unreadable (non-root, NOFD)', () => {
    const out = parse('nonroot.txt');
    expect(out.processes.filter((p) => p.fdTableComplete).map((p) => [p.pid, p.command, p.fdCount])).toEqual([
      [41, 'nb-lab', 9], [154, 'lsof', 7], [155, 'lsof', 2],
    ]);
    expect(out.processes.filter((p) => !p.fdTableComplete)).toHaveLength(21);
    expect(out.sockets.map(show)).toEqual([
      'tcp LISTEN 127.0.0.1:47170 - q=null/null ino=635494 nb-lab:41:3',
      'tcp ESTABLISHED 127.0.0.1:34392 127.0.0.1:47170 q=null/null ino=635495 nb-lab:41:5',
      'tcp ESTABLISHED 127.0.0.1:47170 127.0.0.1:34392 q=null/null ino=635496 nb-lab:41:6',
    ]);
  });

  it('keeps host names and maps service names to ports (lsof without -n/-P)', () => {
    const out = parse('names-resolved.txt');
    expect(out.sockets.slice(0, 2).map(show)).toEqual([
      'tcp LISTEN localhost:47101 - q=null/null ino=634787 cw-srv:9:3',
      'tcp CLOSE_WAIT localhost:47101 localhost:43440 q=null/null ino=633800 cw-srv:9:5',
    ]);
    expect(out.sockets.filter((s) => s.owners[0]?.command === 'mysqld').map(show)).toEqual([
      'tcp LISTEN localhost:3306 - q=null/null ino=635910 mysqld:22:3',
      'tcp ESTABLISHED localhost:3306 localhost:35846 q=null/null ino=635935 mysqld:22:5',
    ]);
  });

  it('reads numeric users (-l) and the PPID/PGID columns (-R -g)', () => {
    const out = parse('numeric-user-ppid-pgid.txt');
    expect(out.processes.map((p) => [p.pid, p.command, p.uid, p.fdCount])).toEqual([[9, 'cw-srv', 0, 12], [41, 'nb-lab', 65534, 9]]);
    expect(out.sockets.map((s) => s.uid)).toEqual([0, 0, 0, 0, 0, 0, 65534, 65534, 65534]);
  });

  it('reads lsof -K: blank TID on the process row, thread rows repeating its fds', () => {
    const out = parse('threads-K.txt');
    expect(out.processes.map((p) => [p.pid, p.command, p.fdCount, p.threads])).toEqual([[29, 'thr-main', 8, 3]]);
    expect(out.sockets.map(show)).toEqual([
      'tcp LISTEN 127.0.0.1:47140 - q=null/null ino=635180 thr-main:29:3',
      'tcp ESTABLISHED 127.0.0.1:57272 127.0.0.1:47140 q=null/null ino=635181 thr-main:29:5',
      'tcp ESTABLISHED 127.0.0.1:47140 127.0.0.1:57272 q=null/null ino=635182 thr-main:29:6',
    ]);
  });

  it('reads +c 15 commands and the CLOSE_WAIT state filter', () => {
    expect(parse('wide-command.txt').processes.map((p) => p.command)).toContain('share-child');
    expect(parse('wide-command.txt').processes.map((p) => p.command)).toContain('udp lab');
    expect(countBy(parse('close-wait-filter.txt').sockets.map((s) => `${s.state} ${s.family}`))).toEqual({
      'CLOSE_WAIT inet': 4, 'CLOSE_WAIT inet6': 2,
    });
  });

  it('restores fd numbers of 10000 and up, which lsof cuts to "*000", "*001", ... (fd-hog, 11005 fds)', () => {
    const out = parse('truncated-fd-numbers.txt');
    expect(fixture('lsof/truncated-fd-numbers.txt')).toContain(' *000u ');
    expect(out.fds.map((f) => `${f.fd} ${f.kind} ${f.inode} ${f.hint}`)).toEqual([
      '9997 socket 1361593 TCP', '9998 socket 1361594 TCP', '9999 socket 1361595 TCP',
      '10000 socket 1361596 TCP', '10001 socket 1361597 TCP', '10002 socket 1361598 TCP',
      '10998 socket 1362594 TCP', '10999 socket 1362595 TCP', '11000 socket 1362596 TCP', '11001 socket 1362597 TCP',
    ]);
  });

  it('restores them across pieces of one capture when given the same carry', () => {
    const lines = fixture('lsof/truncated-fd-numbers.txt').split('\n');
    const lastFd = new Map<string, number>();
    const first = readColumns(lines.slice(0, 8).join('\n'), 'x', lenient(), lastFd);
    const second = readColumns([lines[0], ...lines.slice(8)].join('\n'), 'x', lenient(), lastFd);
    expect([...first.fds, ...second.fds].map((f) => f.fd)).toEqual([9997, 9998, 9999, 10000, 10001, 10002, 10998, 10999, 11000, 11001]);
    // without it, a piece that starts past 10999 cannot know how often the numbers wrapped
    expect(readColumns([lines[0], ...lines.slice(9)].join('\n'), 'x', lenient()).fds.map((f) => f.fd)).toEqual([10000, 10001]);
  });

  it('gives nothing for header-only and empty output', () => {
    for (const name of ['header-only.txt', 'empty.txt']) {
      expect(parse(name)).toEqual({ processes: [], fds: [], sockets: [] });
    }
  });
});

describe('readColumns: damaged captures', () => {
  it('stops at a truncated row in strict mode', () => {
    expect(() => readColumns(fixture('lsof/bad-truncated.txt'), 'lsof/bad-truncated.txt')).toThrowErrorMatchingInlineSnapshot(`[InputError: lsof/bad-truncated.txt:3: expected the protocol (TCP, UDP) in the NODE column of an IPv4 row (line: "cw-srv      9   root    5u  IPv4 633800")]`);
  });

  it('stops at garbage bytes in strict mode, with a printable message', () => {
    expect(() => readColumns(fixture('lsof/bad-garbage.txt'), 'lsof/bad-garbage.txt')).toThrowErrorMatchingInlineSnapshot(`[InputError: lsof/bad-garbage.txt:2: expected a numeric PID after COMMAND, found "��\\x00\\x1b[7m\\x01" (line: "cw-srv      ��\\x00\\x1b[7m\\x01   root    3u  IPv4 634787      0t0  TCP...")]`);
  });

  it('skips exactly the damaged line in lenient mode', () => {
    for (const name of ['bad-truncated.txt', 'bad-garbage.txt']) {
      const sink = lenient();
      const out = readColumns(fixture(`lsof/${name}`), name, sink);
      expect(sink.count).toBe(1);
      expect(out.sockets).toHaveLength(parse('tcp-udp-queues.txt').sockets.length - 1);
    }
  });
});

describe('readColumns: properties', () => {
  const captures = ['tcp-udp-queues.txt', 'list-everything.txt', 'sockets-files.txt', 'nonroot.txt', 'threads-K.txt', 'numeric-user-ppid-pgid.txt', 'names-resolved.txt'].map((n) => fixture(`lsof/${n}`));
  const run = (text: string, sink: LineSink) => readColumns(text, 'fuzz', sink);

  it('throws only InputError (strict), never throws (lenient), returns valid records: random and mutated input', () => {
    fuzz(run, captures, 0x15f0);
  });

  it('never hangs: 5 MB on one line, pathological repeats', () => {
    expectFast(run, captures[0]!);
  }, 120_000); // 14 inputs of 5 MB: the bound is per input (fuzz.ts expectFast)

  it('reads a capture the same whole or split at any line (batches)', () => {
    const text = captures[1]!;
    const lines = text.split('\n');
    const whole = readColumns(text, 'x', lenient());
    const header = lines[0]!;
    for (const cut of [1, 77, 300, lines.length - 2]) {
      const a = readColumns(lines.slice(0, cut).join('\n'), 'x', lenient());
      const b = readColumns([header, ...lines.slice(cut)].join('\n'), 'x', lenient());
      expect(a.sockets.length + b.sockets.length).toBeGreaterThanOrEqual(whole.sockets.length);
      expect(new Set([...a.fds, ...b.fds].map((f) => `${f.pid}:${f.fd}`)).size).toBe(whole.fds.length);
    }
  });
});
