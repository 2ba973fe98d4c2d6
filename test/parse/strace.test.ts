import { describe, expect, it } from 'vitest';
import type { StraceEvent, SyscallLine } from '../../src/parse/strace.js';
import { fdTokens, parseFrame, parseSyscall, sockaddrText, splitArgs, StraceReader } from '../../src/parse/strace.js';
import { fdWhat } from '../../src/trace/fd-kind.js';
import { replay } from '../trace/replay.js';

// Lines below are copied from the captures in fixtures/strace/ (see its README).
describe('parseSyscall', () => {
  it('reads name, args, result and its -yy decoration', () => {
    const c = parseSyscall(9846, 'socket(AF_INET, SOCK_STREAM, IPPROTO_IP) = 3<TCP:[1170383]>')!;
    expect([c.name, c.args, c.ret, c.retDeco, c.errno]).toEqual(['socket', 'AF_INET, SOCK_STREAM, IPPROTO_IP', 3, 'TCP:[1170383]', null]);
  });
  it('keeps "->" inside a socket decoration and nested decorations whole', () => {
    const c = parseSyscall(9993, 'accept4(12<TCP:[127.0.0.1:34191]>, {sa_family=AF_INET, sin_port=htons(35940), sin_addr=inet_addr("127.0.0.1")}, [16], SOCK_CLOEXEC) = 14<TCP:[127.0.0.1:34191->127.0.0.1:35940]>')!;
    expect(c.retDeco).toBe('TCP:[127.0.0.1:34191->127.0.0.1:35940]');
    expect(splitArgs(c.args)).toHaveLength(4);
    expect(parseSyscall(1, 'fcntl(0</dev/null<char 1:3>>, F_GETFD) = 0')!.args).toBe('0</dev/null<char 1:3>>, F_GETFD');
  });
  it('reads errors and unknown results', () => {
    const c = parseSyscall(1, 'connect(3<TCP:[5]>, {sa_family=AF_INET, sin_port=htons(2), sin_addr=inet_addr("127.0.0.1")}, 16) = -1 ECONNREFUSED (Connection refused)')!;
    expect([c.ret, c.errno]).toEqual([-1, 'ECONNREFUSED']);
    expect(sockaddrText(splitArgs(c.args)[1])).toBe('127.0.0.1:2');
    expect(parseSyscall(1, 'exit_group(0)                     = ?')!.ret).toBeNull();
    expect(parseSyscall(1, 'not a syscall')).toBeNull();
  });
  it('finds the fds of pipe2, socketpair and SCM_RIGHTS', () => {
    expect(fdTokens('[5<pipe:[121925]>, 6<pipe:[121925]>], O_CLOEXEC')).toEqual([{ fd: 5, deco: 'pipe:[121925]' }, { fd: 6, deco: 'pipe:[121925]' }]);
    expect(fdTokens('AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC, 0, [3<UNIX-STREAM:[1171331->1171332]>, 4<UNIX-STREAM:[1171332->1171331]>]').map((t) => t.fd)).toEqual([3, 4]);
  });
});

describe('StraceReader', () => {
  it('joins split calls by tid and gives the stack to the resumed half', () => {
    const events: StraceEvent[] = [];
    const r = new StraceReader((e) => events.push(e));
    for (const l of [
      '9707  socket(AF_INET, SOCK_DGRAM, IPPROTO_IP <unfinished ...>',
      '9705  close(3<pipe:[1]>)        = 0',
      '9707  <... socket resumed>)             = 15<UDP:[1169858]>',
      ' > /usr/lib/x86_64-linux-gnu/libc.so.6(__socket+0x7) [0x10adc7]',
      ' > /tmp/tr/fork-threads(thread_sockets+0x2a) [0x12e0]',
      '9707  +++ exited with 0 +++',
    ]) r.push(l);
    r.end();
    expect(events.map((e) => (e.type === 'exit' ? `exit ${e.tid}` : `${e.tid} ${e.name} ${e.ret} ${e.stack.length}`))).toEqual([
      '9705 close 0 0', '9707 socket 15 2', 'exit 9707',
    ]);
    expect((events[1] as SyscallLine).retDeco).toBe('UDP:[1169858]');
  });
  it('understands every line of the captures', () => {
    for (const f of ['kinds-python.txt', 'fork-threads.txt', 'two-paths.txt', 'churn-attach.txt']) expect([f, replay(f).reader.unknownLines]).toEqual([f, 0]);
  });
});

describe('socket protocol with -y', () => {
  it('comes from the creating call', async () => {
    const { socketLabel } = await import('../../src/trace/fd-kind.js');
    expect(socketLabel('AF_INET', 'SOCK_STREAM|SOCK_CLOEXEC')).toBe('TCP socket');
    expect(socketLabel('AF_INET6', 'SOCK_DGRAM')).toBe('UDPv6 socket');
    expect(socketLabel('AF_UNIX', 'SOCK_STREAM')).toBe('unix stream socket');
    const { FdTracker } = await import('../../src/trace/fd-tracker.js');
    const t = new FdTracker();
    const r = new StraceReader((e) => t.apply(e));
    // fixtures/strace/two-paths.txt and fork-threads.txt
    for (const l of ['22625 socket(AF_INET, SOCK_STREAM, IPPROTO_IP) = 3<socket:[1582126]>', '22614 socket(AF_INET, SOCK_DGRAM, IPPROTO_IP) = 9<socket:[1582051]>']) r.push(l);
    r.end();
    expect([...t.openFds()].map((o) => `${o.fd} ${o.open.what.label} ${o.open.what.inode}`)).toEqual(['3 TCP socket 1582126', '9 UDP socket 1582051']);
  });
});

describe('frames and fd kinds', () => {
  it('parses a frame with and without a symbol', () => {
    expect(parseFrame('/tmp/tr/leak(query_backend+0x1f) [0x11f5]')).toEqual({ object: '/tmp/tr/leak', symbol: 'query_backend', address: '0x11f5' });
    expect(parseFrame('/usr/bin/python3.11(+0x1234) [0x1234]')).toEqual({ object: '/usr/bin/python3.11', symbol: null, address: '0x1234' });
  });
  it('decodes -yy decorations', () => {
    expect(fdWhat('TCP:[127.0.0.1:34191->127.0.0.1:35940]')).toMatchObject({ kind: 'socket', label: 'TCP socket', peer: '127.0.0.1:35940' });
    expect(fdWhat('UDP:[1169858]')).toMatchObject({ kind: 'socket', label: 'UDP socket', inode: '1169858' });
    expect(fdWhat('anon_inode:[eventfd]')).toMatchObject({ kind: 'anon_inode', label: 'eventfd' });
    expect(fdWhat('/memfd:x')).toMatchObject({ kind: 'file', label: 'memfd' });
    expect(fdWhat('/dev/null<char 1:3>')).toMatchObject({ kind: 'file', label: 'device', local: '/dev/null' });
    expect(fdWhat('pipe:[121925]')).toMatchObject({ kind: 'pipe', inode: '121925' });
  });
});
