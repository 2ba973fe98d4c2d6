import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { readFileSync, readlinkSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Walk } from '../../src/live/fd-walk.js';
import { walkFds } from '../../src/live/fd-walk.js';
import type { ScanFs, ScanOptions, ScanTimings } from '../../src/live/scan.js';
import { NODE_FS, scanProcesses as scanOutcome } from '../../src/live/scan.js';
import { rankProcesses, scanSortKey } from '../../src/model/queries.js';
import type { ProcessStats, ScanSnapshot, ScanSort } from '../../src/model/scan.js';
import { ScanSnapshotSchema } from '../../src/model/scan.js';
import { parseProcNetInet } from '../../src/parse/proc-net-inet.js';
import { tallyProcNet } from '../../src/parse/proc-net-tally.js';
import { fdTargets, socketFds } from '../helpers/proc.js';

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
/** The snapshot, checked against its schema, with the timings beside it. */
async function scanProcesses(options: ScanOptions): Promise<ScanSnapshot & { timings: ScanTimings }> {
  const { snapshot, timings } = await scanOutcome(options);
  expect(ScanSnapshotSchema.safeParse(snapshot).error).toBeUndefined();
  return { ...snapshot, timings };
}
const rank = (list: readonly ProcessStats[], sort: ScanSort): ProcessStats[] => rankProcesses(list, scanSortKey(sort), (p) => p.fds);
const errno = (code: string, path: string): Error => Object.assign(new Error(`${code}: ${path}`), { code });
const rows = (processes: readonly ProcessStats[]): unknown[] =>
  processes.map((p) => [p.pid, p.command, p.fds, p.sockets, p.orphanSockets, p.unseen]);
const get = (processes: readonly ProcessStats[], pid: number): ProcessStats => processes.find((p) => p.pid === pid)!;

describe('scanProcesses on a captured /proc tree', () => {
  it('counts fds, sockets and orphans, each process against its own network namespace', async () => {
    const r = await scanProcesses({ procRoot: ROOT, now: NOW });
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

  it('reads each namespace\'s tables once, through one member, however many share it', async () => {
    const reads: string[] = [];
    const r = await scanProcesses({ procRoot: ROOT, now: NOW, fs: faulty((op, path) => { if (op === 'read' && path.endsWith('/net/tcp')) reads.push(path.slice(ROOT.length)); return undefined; }) });
    expect(reads).toEqual(['/19448/net/tcp', '/19455/net/tcp']);
    expect(r.host.namespaces.map((n) => [n.id, n.processes, n.readVia])).toEqual([
      ['net:[4026532177]', 7, 19448],
      ['net:[4026532246]', 1, 19455],
    ]);
  });

  it('summarises the namespace: TCP states, rows per family, TIME_WAIT against the port range', async () => {
    const [mine, other] = (await scanProcesses({ procRoot: ROOT, now: NOW })).host.namespaces;
    expect(mine).toMatchObject({
      tcpByState: { ESTABLISHED: 2, LISTEN: 2, TIME_WAIT: 20 },
      rows: { tcp: 24, udp: 1, unix: 10, netlink: 8, raw: 0, icmp: 0, udplite: 0, packet: 0 },
      timeWait: { count: 20, portRange: [32768, 60999], busiestPeer: { endpoint: '127.0.0.1:47103', count: 20 } },
    });
    // ip_local_port_range is per namespace and /proc/sys shows only fdleak's own.
    expect(other!.timeWait).toEqual({ count: 0, portRange: null, busiestPeer: null });
  });

  it('reads another namespace\'s port range through one of its members, once, and says when it cannot', async () => {
    const asked: string[] = [];
    const sysctls = { ipLocalPortRange: [40000, 40999] as [number, number], tcpFinTimeout: 60, tcpTwReuse: 2, tcpMaxTwBuckets: 1, somaxconn: 4096 };
    const r = await scanProcesses({ procRoot: ROOT, now: NOW, netSysctls: async (path) => { asked.push(path); return sysctls; } });
    expect(asked).toEqual([`${ROOT}/${OTHER_NETNS}/ns/net`]); // fdleak's own namespace is read from /proc/sys
    expect(r.host.namespaces.map((n) => n.timeWait.portRange)).toEqual([[32768, 60999], [40000, 40999]]);
    const failed = await scanProcesses({ procRoot: ROOT, now: NOW, netSysctls: async () => ({ error: 'nsenter --net=x: Operation not permitted' }) });
    expect(failed.host.namespaces[1]!.timeWait.portRange).toBeNull();
    expect(failed.warnings).toEqual(['ip_local_port_range of net:[4026532246] unknown: nsenter --net=x: Operation not permitted']);
  });

  it('does not enter a namespace that holds no TCP socket (its sockstat says so)', async () => {
    const asked: string[] = [];
    const noTcp = (op: Op, path: string): { value: unknown } | undefined => {
      if (op === 'read' && path === `${ROOT}/${OTHER_NETNS}/net/sockstat`) return { value: Buffer.from('sockets: used 3\nTCP: inuse 0 orphan 0 tw 0 alloc 0 mem 0\n') };
      if (op === 'read' && path === `${ROOT}/${OTHER_NETNS}/net/sockstat6`) return { value: Buffer.from('TCP6: inuse 0\nUDP6: inuse 0\n') };
      return undefined;
    };
    await scanProcesses({ procRoot: ROOT, now: NOW, fs: faulty(noTcp), netSysctls: async (path) => { asked.push(path); return { error: 'not expected' }; } });
    expect(asked).toEqual([]);
    const v6 = (op: Op, path: string): { value: unknown } | undefined =>
      (op === 'read' && path.endsWith('/sockstat6') ? { value: Buffer.from('TCP6: inuse 2\n') } : noTcp(op, path));
    await scanProcesses({ procRoot: ROOT, now: NOW, fs: faulty(v6), netSysctls: async (path) => { asked.push(path); return { error: 'x' }; } });
    expect(asked).toEqual([`${ROOT}/${OTHER_NETNS}/ns/net`]);
  });

  it('counts a process that exits after the listing as vanished and names it', async () => {
    let listed = false;
    const r = await scanProcesses({
      procRoot: ROOT, now: NOW,
      afterList: () => { listed = true; },
      fs: faulty((_op, path) => (listed && path.startsWith(`${ROOT}/${WORKER}/`) ? errno('ENOENT', path) : undefined)),
    });
    expect(r.skipped).toEqual({ permission: 0, vanished: 1 });
    expect(r.skippedProcesses.vanished).toEqual([WORKER]);
    expect(r.processes.map((p) => p.pid)).not.toContain(WORKER);
    expect(r.processes).toHaveLength(7);
  });

  it('counts a process gone before its stat is read as vanished', async () => {
    const r = await scanProcesses({ procRoot: ROOT, now: NOW, fs: faulty((_op, path) => (path === `${ROOT}/${WORKER}/stat` ? errno('ENOENT', path) : undefined)) });
    expect(r.skippedProcesses.vanished).toEqual([WORKER]);
  });

  it('treats every fd vanishing between listing and readlink as the process exiting', async () => {
    const r = await scanProcesses({ procRoot: ROOT, now: NOW, fs: faulty((op, path) => (op === 'link' && path.startsWith(`${ROOT}/${WORKER}/fd/`) ? errno('ENOENT', path) : undefined)) });
    expect(r.skippedProcesses.vanished).toEqual([WORKER]);
  });

  it('skips one fd closed between the count and its readlink', async () => {
    const r = await scanProcesses({ procRoot: ROOT, now: NOW, fs: faulty((op, path) => (op === 'link' && path === `${ROOT}/${LEAKY}/fd/11` ? errno('ENOENT', path) : undefined)) });
    expect(rows([get(r.processes, LEAKY)])).toEqual([[LEAKY, 'leaky-app', 42, 35, 29, null]]);
    expect(r.skipped.vanished).toBe(0);
  });

  it('reads the tables through another member when the first one has exited', async () => {
    const r = await scanProcesses({ procRoot: ROOT, now: NOW, fs: faulty((_op, path) => (path.startsWith(`${ROOT}/${LEAKY}/net`) ? errno('ENOENT', path) : undefined)) });
    expect(r.host.namespaces[0]!.readVia).toBe(19449);
    expect(get(r.processes, LEAKY).orphanSockets).toBe(30);
  });

  it('takes EINVAL from a dying member\'s net directory as "gone" (seen on 6.18)', async () => {
    const r = await scanProcesses({ procRoot: ROOT, now: NOW, fs: faulty((op, path) => (op === 'list' && path === `${ROOT}/${LEAKY}/net` ? errno('EINVAL', path) : undefined)) });
    expect(r.host.namespaces[0]!.readVia).toBe(19449);
  });

  it('restarts through another member when the first exits in the middle of its tables', async () => {
    const r = await scanProcesses({ procRoot: ROOT, now: NOW, fs: faulty((op, path) => (op === 'read' && path === `${ROOT}/${LEAKY}/net/unix` ? errno('ENOENT', path) : undefined)) });
    expect(r.host.namespaces[0]!.readVia).toBe(19449);
    expect(r.host.namespaces[0]!.rows.unix).toBe(10);
    expect(get(r.processes, WORKER).orphanSockets).toBe(0); // a partial read would call its unix pair orphans
  });

  it('keeps a process whose fd links are denied: the kernel\'s count, sockets unknown, counted as permission', async () => {
    // Another user's process (or pid 1, even for root, on the lab VM): readlink says EACCES,
    // stat of fd/ still says how many (its st_size; a fixture directory's size is not, so inject it).
    let links = 0;
    const dir = `${ROOT}/${LEAKY}/fd`;
    const r = await scanProcesses({
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

  it('reads a dense fd table without listing it, and lists it at the first hole', async () => {
    const listed: string[] = [];
    const sizes = new Map([[`${ROOT}/${LEAKY}/fd`, 43], [`${ROOT}/${WORKER}/fd`, 10]]); // the worker: one fd more than 0..8
    const fs = faulty((op, path) => {
      if (op === 'list') listed.push(path.slice(ROOT.length));
      return op === 'size' && sizes.has(path) ? { value: sizes.get(path) } : undefined;
    });
    const r = await scanProcesses({ procRoot: ROOT, now: NOW, fs });
    expect(listed).toContain(`/${WORKER}/fd`);
    expect(listed).not.toContain(`/${LEAKY}/fd`);
    expect(rows([get(r.processes, LEAKY), get(r.processes, WORKER)])).toEqual([
      [LEAKY, 'leaky-app', 43, 36, 30, null],
      [WORKER, 'worker', 9, 2, 0, null],
    ]);
  });

  it('steps over a few holes without listing the directory, and lists it where holes are many', async () => {
    // The leaky process holds fds 0..42 (43). With fd 11 closed it holds 42, and st_size says so.
    const dir = `${ROOT}/${LEAKY}/fd`;
    const run = async (closed: ReadonlySet<number>): Promise<{ listed: boolean; leaky: unknown[] }> => {
      let listed = false;
      const fs = faulty((op, path) => {
        if (op === 'list' && path === dir) listed = true;
        if (op === 'size' && path === dir) return { value: 43 - closed.size };
        return op === 'link' && closed.has(Number(path.slice(dir.length + 1))) ? errno('ENOENT', path) : undefined;
      });
      const r = await scanProcesses({ procRoot: ROOT, now: NOW, fs });
      return { listed, leaky: rows([get(r.processes, LEAKY)])[0] as unknown[] };
    };
    // One hole in 42 fds: one failed readlink, no listing (a listing costs the whole directory).
    const one = await run(new Set([11]));
    expect(one.listed).toBe(false);
    expect(one.leaky.slice(0, 3)).toEqual([LEAKY, 'leaky-app', 42]);
    // Five holes in 38 fds: more than a tenth, so the directory is listed, with the same count.
    const five = await run(new Set([3, 4, 5, 6, 7]));
    expect(five.listed).toBe(true);
    expect(five.leaky.slice(0, 3)).toEqual([LEAKY, 'leaky-app', 38]);
  });

  it('treats a kernel thread or zombie (st_size 0) as holding nothing, without a readlink', async () => {
    let links = 0;
    const fs = faulty((op, path) => {
      if (op === 'link' && path.startsWith(`${ROOT}/${WORKER}/fd/`)) links++;
      return op === 'size' && path === `${ROOT}/${WORKER}/fd` ? { value: 0 } : undefined;
    });
    const r = await scanProcesses({ procRoot: ROOT, now: NOW, fs });
    expect(rows([get(r.processes, WORKER)])).toEqual([[WORKER, 'worker', 0, 0, 0, null]]);
    expect(links).toBe(0);
  });

  it('lists every fd directory on a kernel before 6.2, where st_size of /proc/<pid>/fd is 0', async () => {
    const listed = new Set<string>();
    const old = (extra: (op: Op, path: string) => Error | undefined = () => undefined): ScanFs => faulty((op, path) => {
      if (op === 'list') listed.add(path.slice(ROOT.length));
      if (op === 'size') return path.endsWith('/fd') ? { value: 0 } : undefined;
      return extra(op, path);
    });
    const r = await scanProcesses({ procRoot: ROOT, now: NOW, fs: old() });
    expect(rows(r.processes)).toEqual(rows((await scanProcesses({ procRoot: ROOT, now: NOW })).processes));
    expect(listed.has(`/${WORKER}/fd`)).toBe(true);

    // Links denied but the listing allowed (root against pid 1): the listing counts.
    const linkDenied = (op: Op, path: string): Error | undefined => (op === 'link' && path.startsWith(`${ROOT}/${LEAKY}/fd/`) ? errno('EACCES', path) : undefined);
    expect(rows([get((await scanProcesses({ procRoot: ROOT, now: NOW, fs: old(linkDenied) })).processes, LEAKY)])).toEqual([[LEAKY, 'leaky-app', 43, null, null, 'permission']]);

    // Both denied (another user's process): nothing tells the count.
    const allDenied = (op: Op, path: string): Error | undefined => linkDenied(op, path) ?? (op === 'list' && path === `${ROOT}/${LEAKY}/fd` ? errno('EACCES', path) : undefined);
    const blind = await scanProcesses({ procRoot: ROOT, now: NOW, fs: old(allDenied) });
    expect(get(blind.processes, LEAKY)).toMatchObject({ fds: null, sockets: null, orphanSockets: null, limitUsed: null, unseen: 'permission' });
    expect(rank(blind.processes, 'fds').at(-1)!.pid).toBe(LEAKY);
    expect(blind.host.fds).toBe(98 - 43);
  });

  it('does not call a socket an orphan when its fd closed or was reused before the check', async () => {
    // fds 11 and 12 hold never-bound sockets; on the second look (after the tables were read)
    // 11 is closed and 12 holds another socket.
    const r = await scanProcesses({
      procRoot: ROOT, now: NOW,
      fs: faulty((op, path, call) => {
        if (op === 'link' && call === 2 && path === `${ROOT}/${LEAKY}/fd/11`) return errno('ENOENT', path);
        if (op === 'link' && call === 2 && path === `${ROOT}/${LEAKY}/fd/12`) return { value: 'socket:[999999]' };
        return undefined;
      }),
    });
    expect(get(r.processes, LEAKY)).toMatchObject({ sockets: 36, orphanSockets: 28 });
  });

  it('leaves a process out when asked (fdleak\'s own pid)', async () => {
    const r = await scanProcesses({ procRoot: ROOT, now: NOW, excludePids: [LEAKY] });
    expect(r.processes.map((p) => p.pid)).not.toContain(LEAKY);
    expect(r.skipped.vanished).toBe(0);
  });

  it('reads fd links from inside each fd directory, and is back in the caller\'s directory after', async () => {
    const cwd = process.cwd();
    const byPath = await scanProcesses({ procRoot: ROOT, now: NOW, fs: faulty(() => undefined) }); // no linker: full paths
    const inside = await scanProcesses({ procRoot: ROOT, now: NOW });
    expect(process.cwd()).toBe(cwd);
    expect(inside.processes).toEqual(byPath.processes);
    expect(inside.timings.links).toBe(byPath.timings.links);
    // A relative --proc-root still names the same tree once the scan has moved around.
    const up = dirname(ROOT);
    process.chdir(up);
    try {
      expect((await scanProcesses({ procRoot: 'proc', now: NOW })).processes).toEqual(byPath.processes);
      expect(process.cwd()).toBe(up);
    } finally {
      process.chdir(cwd);
    }
  });

  it('reads links by full path where chdir is refused (a worker thread)', async () => {
    const byPath = await scanProcesses({ procRoot: ROOT, now: NOW, fs: faulty(() => undefined) });
    const chdir = vi.spyOn(process, 'chdir').mockImplementation(() => {
      throw Object.assign(new Error('process.chdir() is not supported in workers'), { code: 'ERR_WORKER_UNSUPPORTED_OPERATION' });
    });
    try {
      expect((await scanProcesses({ procRoot: ROOT, now: NOW })).processes).toEqual(byPath.processes);
    } finally {
      chdir.mockRestore();
    }
  });

  it('goes back to the caller\'s directory when the walk throws', async () => {
    const cwd = process.cwd();
    const fs: ScanFs = { ...NODE_FS, list: (p) => (p.endsWith('/fd') ? (() => { throw errno('EIO', p); })() : NODE_FS.list(p)), size: () => 100 };
    await expect(scanProcesses({ procRoot: ROOT, now: NOW, fs })).rejects.toThrowError(/EIO/);
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
    let plain: Awaited<ReturnType<typeof scanProcesses>>;
    beforeAll(async () => { plain = await scanProcesses({ procRoot: ROOT, now: NOW }); });

    it('skips tcp6 with no IPv6 socket in use and every TIME_WAIT socket already a tcp row', async () => {
      const reads: string[] = [];
      const r = await scanProcesses({ procRoot: ROOT, now: NOW, fs: withSockstat(stat(4, 20), 'TCP6: inuse 0\nUDP6: inuse 0\n', reads) });
      expect(reads).toEqual(['tcp']);
      expect(r.host.namespaces).toEqual(plain.host.namespaces);
      expect(r.processes).toEqual(plain.processes);
    });

    it('reads tcp6 when a TIME_WAIT socket is not in tcp, or an IPv6 socket is in use', async () => {
      for (const [v4, v6] of [[stat(4, 21), 'TCP6: inuse 0\n'], [stat(4, 20), 'TCP6: inuse 1\n'], [stat(4, 20), 'TCP6: odd\n']] as const) {
        const reads: string[] = [];
        await scanProcesses({ procRoot: ROOT, now: NOW, fs: withSockstat(v4, v6, reads) });
        expect(reads).toEqual(['tcp', 'tcp6']);
      }
    });

    it('skips tcp with no TCP socket in use and no TIME_WAIT: the family is still listed, with 0 rows', async () => {
      const reads: string[] = [];
      const r = await scanProcesses({ procRoot: ROOT, now: NOW, fs: withSockstat(stat(0, 0), 'TCP6: inuse 0\n', reads) });
      expect(reads).toEqual([]);
      expect(r.host.namespaces[0]!.rows.tcp).toBe(0); // this fixture's sockstat lies: real ones do not
      expect(r.host.namespaces[0]!.tcpByState).toEqual({});
    });

    it('reads every table when sockstat is not what it expects', async () => {
      const reads: string[] = [];
      await scanProcesses({ procRoot: ROOT, now: NOW, fs: withSockstat('TCP: something else\n', 'TCP6: inuse 0\n', reads) });
      expect(reads).toEqual(['tcp', 'tcp6']);
    });
  });

  it('rejects a socket table with an unexpected header, naming the file', async () => {
    const fs = faulty((op, path) => (op === 'read' && path === `${ROOT}/${LEAKY}/net/tcp6` ? { value: Buffer.from('garbage\n') } : undefined));
    // The path and line are the point; how InputError quotes the text is errors.ts's business.
    await expect(scanProcesses({ procRoot: ROOT, now: NOW, fs })).rejects.toThrowError(`${ROOT}/${LEAKY}/net/tcp6:1: unexpected header for a /proc/net table`);
  });

  it('rejects a row whose inode column is not decimal', async () => {
    const text = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n'
      + '   0: 0100007F:B7FD 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12x4 1\n';
    const fs = faulty((op, path) => (op === 'read' && path === `${ROOT}/${LEAKY}/net/tcp` ? { value: Buffer.from(text) } : undefined));
    await expect(scanProcesses({ procRoot: ROOT, now: NOW, fs })).rejects.toThrowError(`${ROOT}/${LEAKY}/net/tcp:2: expected a decimal inode, found "12x4"`);
  });

  it('fails with one clear line when the /proc root cannot be listed', async () => {
    await expect(scanProcesses({ procRoot: `${ROOT}/nope` })).rejects.toThrowError(/nope: cannot list the process directory: ENOENT/);
  });
});

describe('the fd walk of a live process with holes in its fd table', () => {
  // Two python3 holders: 300 fds with 3 holes low in the table (a closed pipe end, as every
  // perfload process has), and 300 fds with a hole at every other fd from 3 to 200.
  const HOLDER = 'import os, socket, sys\nkeep = [socket.socket() for _ in range(40)] + [os.pipe() for _ in range(130)]\n'
    + 'holes = [5, 9, 17] if sys.argv[1] == "few" else list(range(3, 200, 2))\n'
    + 'for fd in holes: os.close(fd)\nprint("up", flush=True)\nsys.stdin.read()';
  const held: ChildProcess[] = [];
  const start = async (which: 'few' | 'many'): Promise<number> => {
    const child = spawn('python3', ['-c', HOLDER, which], { stdio: ['pipe', 'pipe', 'inherit'] });
    held.push(child);
    await new Promise((resolve) => child.stdout!.once('data', resolve));
    return child.pid!;
  };
  afterAll(() => { for (const child of held) child.kill('SIGKILL'); });

  const walkOf = (pid: number): { walk: Walk; listed: string[] } => {
    const listed: string[] = [];
    const fs: ScanFs = { ...NODE_FS, list: (path) => { listed.push(path); return NODE_FS.list(path); } };
    const walk: Walk = { process: { pid, command: '', state: '', startTime: null, fds: 0, sockets: null, orphanSockets: null, fdLimit: null, limitUsed: null, netns: null, unseen: null, location: null }, inodes: [], fdNames: [], links: 0 };
    expect(walkFds(fs, '/proc', walk, true, (dir, name) => readlinkSync(`${dir}/${name}`))).toBe('ok');
    return { walk, listed };
  };
  const sizeCounts = (): boolean => statSync('/proc/self/fd').size > 0;

  it('steps over a few holes without listing the directory, with the numbers /proc gives', async (ctx) => {
    if (!sizeCounts()) ctx.skip('st_size of /proc/<pid>/fd is not the fd count on this kernel (before 6.2): every table is listed');
    const pid = await start('few');
    const { walk, listed } = walkOf(pid);
    expect(listed).toEqual([]);
    expect(walk.links).toBe(fdTargets(pid).size + 3); // every fd once, and one failed readlink per hole
    expect(walk.process.fds).toBe(fdTargets(pid).size);
    expect(walk.process.sockets).toBe(socketFds(pid).size);
    expect(walk.inodes.map(String).sort()).toEqual([...socketFds(pid).keys()].sort());
  });

  it('lists the directory where holes are many, with the same numbers', async (ctx) => {
    if (!sizeCounts()) ctx.skip('st_size of /proc/<pid>/fd is not the fd count on this kernel (before 6.2): every table is listed');
    const pid = await start('many');
    const { walk, listed } = walkOf(pid);
    expect(listed).toEqual([`/proc/${pid}/fd`]);
    expect(walk.process.fds).toBe(fdTargets(pid).size);
    expect(walk.process.sockets).toBe(socketFds(pid).size);
    expect(walk.fdNames.sort((a, b) => a - b)).toEqual([...socketFds(pid).values()].sort((a, b) => a - b));
  });
});
