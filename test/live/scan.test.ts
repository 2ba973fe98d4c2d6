import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import type { ScanFs, ScannedProcess } from '../../src/live/scan.js';
import {
  decodeHexEndpoint, NODE_FS, parseOpenFilesLimit, parseStat, rankProcesses, scanProcesses, tallyNetTable,
} from '../../src/live/scan.js';
import { parseProcNetInet } from '../../src/parse/proc-net-inet.js';

const ROOT = fileURLToPath(new URL('../../fixtures/scan/basic/proc', import.meta.url));
const NOW = (): Date => new Date('2026-11-22T03:00:00.000Z');
const LEAKY = 19448;
const WORKER = 19450;
const OTHER_NETNS = 19455;

type Op = keyof ScanFs;
/** NODE_FS with some calls replaced: return undefined from `fault` to run the real call. */
function faulty(fault: (op: Op, path: string, call: number) => Error | { value: unknown } | undefined): ScanFs {
  const calls = new Map<string, number>();
  const run = <T>(op: Op, path: string, real: () => T): T => {
    const key = `${op} ${path}`;
    const call = (calls.get(key) ?? 0) + 1;
    calls.set(key, call);
    const f = fault(op, path, call);
    if (f instanceof Error) throw f;
    if (f !== undefined) return f.value as T;
    return real();
  };
  return {
    list: (p) => run('list', p, () => NODE_FS.list(p)),
    link: (p) => run('link', p, () => NODE_FS.link(p)),
    size: (p) => run('size', p, () => NODE_FS.size(p)),
    read: (p) => run('read', p, () => NODE_FS.read(p)),
  };
}
const errno = (code: string, path: string): Error => Object.assign(new Error(`${code}: ${path}`), { code });
const rows = (processes: readonly ScannedProcess[]): unknown[] =>
  processes.map((p) => [p.pid, p.command, p.fds, p.sockets, p.orphanSockets, p.unseen]);
const get = (processes: readonly ScannedProcess[], pid: number): ScannedProcess => processes.find((p) => p.pid === pid)!;

describe('scanProcesses on a captured /proc tree', () => {
  it('counts fds, sockets and orphans, each process against its own network namespace', () => {
    const r = scanProcesses({ procRoot: ROOT, now: NOW });
    expect(rows(r.processes)).toEqual([
      [19448, 'leaky-app', 43, 36, 30, null],
      [19449, 'worker', 9, 2, 0, null],
      [19450, 'worker', 9, 2, 0, null],
      [19451, 'worker', 9, 2, 0, null],
      [19452, 'worker', 9, 2, 0, null],
      [19453, 'churn', 5, 1, 0, null],
      [19454, 'my (odd) name', 5, 0, 0, null],
      // 3 of its 5 sockets are rows of ITS namespace; 19448's tables would call all 5 orphans.
      [19455, 'in-other-netns', 9, 5, 2, null],
    ]);
    expect(r.skipped).toEqual({ permission: 0, vanished: 0 });
    expect(get(r.processes, LEAKY)).toMatchObject({ fdLimit: { soft: 20000, hard: 20000 }, limitUsed: 43 / 20000, netns: 'net:[4026532177]' });
    expect(r.host).toMatchObject({ processes: 8, fds: 98, fileNr: { allocated: 15666, max: 2466193 }, nrOpen: 1048576 });
  });

  it('reads each namespace\'s tables once, through one member, however many share it', () => {
    const reads: string[] = [];
    const r = scanProcesses({ procRoot: ROOT, now: NOW, fs: faulty((op, path) => { if (op === 'read' && path.endsWith('/net/tcp')) reads.push(path.slice(ROOT.length)); return undefined; }) });
    expect(reads).toEqual(['/19448/net/tcp', '/19455/net/tcp']);
    expect(r.host.namespaces.map((n) => [n.id, n.processes, n.readVia])).toEqual([
      ['net:[4026532177]', 7, 19448],
      ['net:[4026532246]', 1, 19455],
    ]);
  });

  it('summarises the namespace: TCP states, rows per family, TIME_WAIT against the port range', () => {
    const [mine, other] = scanProcesses({ procRoot: ROOT, now: NOW }).host.namespaces;
    expect(mine).toMatchObject({
      tcpByState: { ESTABLISHED: 2, LISTEN: 2, TIME_WAIT: 20 },
      rows: { tcp: 24, udp: 1, unix: 10, netlink: 8, raw: 0, icmp: 0, udplite: 0, packet: 0 },
      timeWait: { count: 20, portRange: [32768, 60999], busiestPeer: { endpoint: '127.0.0.1:47103', count: 20 } },
    });
    // ip_local_port_range is per namespace and /proc/sys shows only fdleak's own.
    expect(other!.timeWait).toEqual({ count: 0, portRange: null, busiestPeer: null });
  });

  it('counts a process that exits after the listing as vanished and names it', () => {
    let listed = false;
    const r = scanProcesses({
      procRoot: ROOT, now: NOW,
      afterList: () => { listed = true; },
      fs: faulty((_op, path) => (listed && path.startsWith(`${ROOT}/${WORKER}/`) ? errno('ENOENT', path) : undefined)),
    });
    expect(r.skipped).toEqual({ permission: 0, vanished: 1 });
    expect(r.skippedProcesses.vanished).toEqual([WORKER]);
    expect(r.processes.map((p) => p.pid)).not.toContain(WORKER);
    expect(r.processes).toHaveLength(7);
  });

  it('counts a process gone before its stat is read as vanished', () => {
    const r = scanProcesses({ procRoot: ROOT, now: NOW, fs: faulty((_op, path) => (path === `${ROOT}/${WORKER}/stat` ? errno('ENOENT', path) : undefined)) });
    expect(r.skippedProcesses.vanished).toEqual([WORKER]);
  });

  it('treats every fd vanishing between listing and readlink as the process exiting', () => {
    const r = scanProcesses({ procRoot: ROOT, now: NOW, fs: faulty((op, path) => (op === 'link' && path.startsWith(`${ROOT}/${WORKER}/fd/`) ? errno('ENOENT', path) : undefined)) });
    expect(r.skippedProcesses.vanished).toEqual([WORKER]);
  });

  it('skips one fd closed between the count and its readlink', () => {
    const r = scanProcesses({ procRoot: ROOT, now: NOW, fs: faulty((op, path) => (op === 'link' && path === `${ROOT}/${LEAKY}/fd/11` ? errno('ENOENT', path) : undefined)) });
    expect(rows([get(r.processes, LEAKY)])).toEqual([[LEAKY, 'leaky-app', 42, 35, 29, null]]);
    expect(r.skipped.vanished).toBe(0);
  });

  it('reads the tables through another member when the first one has exited', () => {
    const r = scanProcesses({ procRoot: ROOT, now: NOW, fs: faulty((_op, path) => (path.startsWith(`${ROOT}/${LEAKY}/net`) ? errno('ENOENT', path) : undefined)) });
    expect(r.host.namespaces[0]!.readVia).toBe(19449);
    expect(get(r.processes, LEAKY).orphanSockets).toBe(30);
  });

  it('takes EINVAL from a dying member\'s net directory as "gone" (seen on 6.18)', () => {
    const r = scanProcesses({ procRoot: ROOT, now: NOW, fs: faulty((op, path) => (op === 'list' && path === `${ROOT}/${LEAKY}/net` ? errno('EINVAL', path) : undefined)) });
    expect(r.host.namespaces[0]!.readVia).toBe(19449);
  });

  it('restarts through another member when the first exits in the middle of its tables', () => {
    const r = scanProcesses({ procRoot: ROOT, now: NOW, fs: faulty((op, path) => (op === 'read' && path === `${ROOT}/${LEAKY}/net/unix` ? errno('ENOENT', path) : undefined)) });
    expect(r.host.namespaces[0]!.readVia).toBe(19449);
    expect(r.host.namespaces[0]!.rows.unix).toBe(10);
    expect(get(r.processes, WORKER).orphanSockets).toBe(0); // a partial read would call its unix pair orphans
  });

  it('keeps a process whose fd links are denied: the kernel\'s count, sockets unknown, counted as permission', () => {
    // Another user's process (or pid 1, even for root, on the lab VM): readlink says EACCES,
    // stat of fd/ still says how many (its st_size; a fixture directory's size is not, so inject it).
    let links = 0;
    const dir = `${ROOT}/${LEAKY}/fd`;
    const r = scanProcesses({
      procRoot: ROOT, now: NOW,
      fs: faulty((op, path) => {
        if (op === 'size' && path === dir) return { value: 43 };
        if (op !== 'link' || !path.startsWith(`${dir}/`)) return undefined;
        links++;
        return errno('EACCES', path);
      }),
    });
    expect(rows([get(r.processes, LEAKY)])).toEqual([[LEAKY, 'leaky-app', 43, null, null, 'permission']]);
    expect(links).toBe(1); // the check is per process: stop at the first refusal
    expect(r.skipped).toEqual({ permission: 1, vanished: 0 });
    expect(r.skippedProcesses.permission).toEqual([{ pid: LEAKY, command: 'leaky-app' }]);
  });

  it('reads a dense fd table without listing it, and lists it at the first hole', () => {
    const listed: string[] = [];
    const sizes = new Map([[`${ROOT}/${LEAKY}/fd`, 43], [`${ROOT}/${WORKER}/fd`, 10]]); // the worker: one fd more than 0..8
    const fs = faulty((op, path) => {
      if (op === 'list') listed.push(path.slice(ROOT.length));
      return op === 'size' && sizes.has(path) ? { value: sizes.get(path) } : undefined;
    });
    const r = scanProcesses({ procRoot: ROOT, now: NOW, fs });
    expect(listed).toContain(`/${WORKER}/fd`);
    expect(listed).not.toContain(`/${LEAKY}/fd`);
    expect(rows([get(r.processes, LEAKY), get(r.processes, WORKER)])).toEqual([
      [LEAKY, 'leaky-app', 43, 36, 30, null],
      [WORKER, 'worker', 9, 2, 0, null],
    ]);
  });

  it('treats a kernel thread or zombie (st_size 0) as holding nothing, without a readlink', () => {
    let links = 0;
    const fs = faulty((op, path) => {
      if (op === 'link' && path.startsWith(`${ROOT}/${WORKER}/fd/`)) links++;
      return op === 'size' && path === `${ROOT}/${WORKER}/fd` ? { value: 0 } : undefined;
    });
    const r = scanProcesses({ procRoot: ROOT, now: NOW, fs });
    expect(rows([get(r.processes, WORKER)])).toEqual([[WORKER, 'worker', 0, 0, 0, null]]);
    expect(links).toBe(0);
  });

  it('lists every fd directory on a kernel before 6.2, where st_size of /proc/<pid>/fd is 0', () => {
    const listed = new Set<string>();
    const old = (extra: (op: Op, path: string) => Error | undefined = () => undefined): ScanFs => faulty((op, path) => {
      if (op === 'list') listed.add(path.slice(ROOT.length));
      if (op === 'size') return path.endsWith('/fd') ? { value: 0 } : undefined;
      return extra(op, path);
    });
    const r = scanProcesses({ procRoot: ROOT, now: NOW, fs: old() });
    expect(rows(r.processes)).toEqual(rows(scanProcesses({ procRoot: ROOT, now: NOW }).processes));
    expect(listed.has(`/${WORKER}/fd`)).toBe(true);

    // Links denied but the listing allowed (root against pid 1): the listing counts.
    const linkDenied = (op: Op, path: string): Error | undefined => (op === 'link' && path.startsWith(`${ROOT}/${LEAKY}/fd/`) ? errno('EACCES', path) : undefined);
    expect(rows([get(scanProcesses({ procRoot: ROOT, now: NOW, fs: old(linkDenied) }).processes, LEAKY)])).toEqual([[LEAKY, 'leaky-app', 43, null, null, 'permission']]);

    // Both denied (another user's process): nothing tells the count.
    const allDenied = (op: Op, path: string): Error | undefined => linkDenied(op, path) ?? (op === 'list' && path === `${ROOT}/${LEAKY}/fd` ? errno('EACCES', path) : undefined);
    const blind = scanProcesses({ procRoot: ROOT, now: NOW, fs: old(allDenied) });
    expect(get(blind.processes, LEAKY)).toMatchObject({ fds: null, sockets: null, orphanSockets: null, limitUsed: null, unseen: 'permission' });
    expect(rankProcesses(blind.processes, 'fds').at(-1)!.pid).toBe(LEAKY);
    expect(blind.host.fds).toBe(98 - 43);
  });

  it('does not call a socket an orphan when its fd closed or was reused before the check', () => {
    // fds 11 and 12 hold never-bound sockets; on the second look (after the tables were read)
    // 11 is closed and 12 holds another socket.
    const r = scanProcesses({
      procRoot: ROOT, now: NOW,
      fs: faulty((op, path, call) => {
        if (op === 'link' && call === 2 && path === `${ROOT}/${LEAKY}/fd/11`) return errno('ENOENT', path);
        if (op === 'link' && call === 2 && path === `${ROOT}/${LEAKY}/fd/12`) return { value: 'socket:[999999]' };
        return undefined;
      }),
    });
    expect(get(r.processes, LEAKY)).toMatchObject({ sockets: 36, orphanSockets: 28 });
  });

  it('leaves a process out when asked (fdleak\'s own pid)', () => {
    const r = scanProcesses({ procRoot: ROOT, now: NOW, excludePids: [LEAKY] });
    expect(r.processes.map((p) => p.pid)).not.toContain(LEAKY);
    expect(r.skipped.vanished).toBe(0);
  });

  it('reads fd links from inside each fd directory, and is back in the caller\'s directory after', () => {
    const cwd = process.cwd();
    const byPath = scanProcesses({ procRoot: ROOT, now: NOW, fs: faulty(() => undefined) }); // no linker: full paths
    const inside = scanProcesses({ procRoot: ROOT, now: NOW });
    expect(process.cwd()).toBe(cwd);
    expect(inside.processes).toEqual(byPath.processes);
    expect(inside.work.links).toBe(byPath.work.links);
    // A relative --proc-root still names the same tree once the scan has moved around.
    const up = dirname(ROOT);
    process.chdir(up);
    try {
      expect(scanProcesses({ procRoot: 'proc', now: NOW }).processes).toEqual(byPath.processes);
      expect(process.cwd()).toBe(up);
    } finally {
      process.chdir(cwd);
    }
  });

  it('reads links by full path where chdir is refused (a worker thread)', () => {
    const byPath = scanProcesses({ procRoot: ROOT, now: NOW, fs: faulty(() => undefined) });
    const chdir = vi.spyOn(process, 'chdir').mockImplementation(() => {
      throw Object.assign(new Error('process.chdir() is not supported in workers'), { code: 'ERR_WORKER_UNSUPPORTED_OPERATION' });
    });
    try {
      expect(scanProcesses({ procRoot: ROOT, now: NOW }).processes).toEqual(byPath.processes);
    } finally {
      chdir.mockRestore();
    }
  });

  it('goes back to the caller\'s directory when the walk throws', () => {
    const cwd = process.cwd();
    const fs: ScanFs = { ...NODE_FS, list: (p) => (p.endsWith('/fd') ? (() => { throw errno('EIO', p); })() : NODE_FS.list(p)), size: () => 100 };
    expect(() => scanProcesses({ procRoot: ROOT, now: NOW, fs })).toThrowError(/EIO/);
    expect(process.cwd()).toBe(cwd);
  });

  describe('TCP tables that sockstat shows empty', () => {
    const NS_DIR = `${ROOT}/${LEAKY}/net`;
    /** The fixture with sockstat files for 19448's namespace; `reads` collects the tables read there. */
    const withSockstat = (sockstat: string, sockstat6: string, reads: string[]): ScanFs => faulty((op, path) => {
      if (op === 'list' && path === NS_DIR) return { value: [...NODE_FS.list(path), 'sockstat', 'sockstat6'] };
      if (op === 'read' && path === `${NS_DIR}/sockstat`) return { value: Buffer.from(sockstat) };
      if (op === 'read' && path === `${NS_DIR}/sockstat6`) return { value: Buffer.from(sockstat6) };
      if (op === 'read' && path.startsWith(`${NS_DIR}/tcp`)) reads.push(path.slice(NS_DIR.length + 1));
      return undefined;
    });
    const stat = (inuse: number, tw: number): string => `sockets: used 90\nTCP: inuse ${inuse} orphan 0 tw ${tw} alloc 9 mem 1\nUDP: inuse 1 mem 0\n`;
    const plain = scanProcesses({ procRoot: ROOT, now: NOW });

    it('skips tcp6 with no IPv6 socket in use and every TIME_WAIT socket already a tcp row', () => {
      const reads: string[] = [];
      const r = scanProcesses({ procRoot: ROOT, now: NOW, fs: withSockstat(stat(4, 20), 'TCP6: inuse 0\nUDP6: inuse 0\n', reads) });
      expect(reads).toEqual(['tcp']);
      expect(r.host.namespaces).toEqual(plain.host.namespaces.map((n) => ({ ...n, readMs: expect.any(Number) })));
      expect(r.processes).toEqual(plain.processes);
    });

    it('reads tcp6 when a TIME_WAIT socket is not in tcp, or an IPv6 socket is in use', () => {
      for (const [v4, v6] of [[stat(4, 21), 'TCP6: inuse 0\n'], [stat(4, 20), 'TCP6: inuse 1\n'], [stat(4, 20), 'TCP6: odd\n']] as const) {
        const reads: string[] = [];
        scanProcesses({ procRoot: ROOT, now: NOW, fs: withSockstat(v4, v6, reads) });
        expect(reads).toEqual(['tcp', 'tcp6']);
      }
    });

    it('skips tcp with no TCP socket in use and no TIME_WAIT: the family is still listed, with 0 rows', () => {
      const reads: string[] = [];
      const r = scanProcesses({ procRoot: ROOT, now: NOW, fs: withSockstat(stat(0, 0), 'TCP6: inuse 0\n', reads) });
      expect(reads).toEqual([]);
      expect(r.host.namespaces[0]!.rows.tcp).toBe(0); // this fixture's sockstat lies: real ones do not
      expect(r.host.namespaces[0]!.tcpByState).toEqual({});
    });

    it('reads every table when sockstat is not what it expects', () => {
      const reads: string[] = [];
      scanProcesses({ procRoot: ROOT, now: NOW, fs: withSockstat('TCP: something else\n', 'TCP6: inuse 0\n', reads) });
      expect(reads).toEqual(['tcp', 'tcp6']);
    });
  });

  it('rejects a socket table with an unexpected header, naming the file', () => {
    const fs = faulty((op, path) => (op === 'read' && path === `${ROOT}/${LEAKY}/net/tcp6` ? { value: Buffer.from('garbage\n') } : undefined));
    // The path and line are the point; how InputError quotes the text is errors.ts's business.
    expect(() => scanProcesses({ procRoot: ROOT, now: NOW, fs })).toThrowError(`${ROOT}/${LEAKY}/net/tcp6:1: unexpected header for a /proc/net table`);
  });

  it('rejects a row whose inode column is not decimal', () => {
    const text = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n'
      + '   0: 0100007F:B7FD 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12x4 1\n';
    const fs = faulty((op, path) => (op === 'read' && path === `${ROOT}/${LEAKY}/net/tcp` ? { value: Buffer.from(text) } : undefined));
    expect(() => scanProcesses({ procRoot: ROOT, now: NOW, fs })).toThrowError(`${ROOT}/${LEAKY}/net/tcp:2: expected a decimal inode, found "12x4"`);
  });

  it('fails with one clear line when the /proc root cannot be listed', () => {
    expect(() => scanProcesses({ procRoot: `${ROOT}/nope` })).toThrowError(/nope: cannot list the process directory: ENOENT/);
  });
});

describe('tallyNetTable: the scan\'s byte-level reading of /proc/net tables', () => {
  const FIXTURES = fileURLToPath(new URL('../../fixtures/proc-net/', import.meta.url));
  // The full parser (proc-net-inet.ts, used by diagnose) is the reference: same inodes, same states.
  const reference = (file: string, text: string): { inodes: number[]; states: Record<string, number> } => {
    const states: Record<string, number> = {};
    const sockets = parseProcNetInet(text, `${FIXTURES}${file}.txt`, file as 'tcp');
    for (const s of sockets) if (s.state !== null) states[s.state] = (states[s.state] ?? 0) + 1;
    return { inodes: sockets.map((s) => Number(s.inode ?? 0)).filter((i) => i !== 0).sort((a, b) => a - b), states };
  };
  const tally = (file: string, text: string): { inodes: number[]; states: Record<string, number>; rows: number } => {
    const t = tallyNetTable(Buffer.from(text, 'latin1'), `${FIXTURES}${file}.txt`, file);
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

describe('rankProcesses', () => {
  const p = (pid: number, fds: number, sockets: number | null, orphanSockets: number | null, limitUsed: number | null): ScannedProcess => ({
    pid, command: 'x', state: 'S', startTime: 1, fds, sockets, orphanSockets, fdLimit: null, limitUsed, netns: null, unseen: null,
  });
  const list = [p(1, 10, 5, 0, 0.5), p(2, 30, null, null, 0.1), p(3, 20, 8, 8, null), p(4, 20, 5, 1, 0.9)];
  it.each([
    ['fds', [2, 3, 4, 1]],
    ['sockets', [3, 4, 1, 2]],
    ['orphans', [3, 4, 1, 2]],
    ['headroom', [4, 1, 2, 3]],
  ] as const)('by %s, unknown last, ties by fds then pid', (sort, pids) => {
    expect(rankProcesses(list, sort).map((q) => q.pid)).toEqual(pids);
  });
});

describe('parsers', () => {
  it('reads comm with spaces and parentheses up to the last ") "', () => {
    expect(parseStat('42 (a) b) (c) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 3 0 777 0\n', 'stat')).toEqual({ command: 'a) b) (c', state: 'S', startTime: 777 });
  });
  it('reads the open files limit, unlimited included', () => {
    const text = 'Limit                     Soft Limit           Hard Limit           Units     \nMax open files            1024                 unlimited            files     \n';
    expect(parseOpenFilesLimit(text)).toEqual({ soft: 1024, hard: 'unlimited' });
    expect(parseOpenFilesLimit('Limit\n')).toBeNull();
  });
  it('decodes /proc/net endpoints', () => {
    expect(decodeHexEndpoint('0100007F:1F90', 'LE')).toBe('127.0.0.1:8080');
    expect(decodeHexEndpoint('00000000000000000000000001000000:01BB', 'LE')).toBe('[::1]:443');
    expect(decodeHexEndpoint('0000000000000000FFFF00000100007F:B7AD', 'LE')).toBe('[::ffff:127.0.0.1]:47021');
  });
});
