/**
 * A live snapshot of one process: its fd table, and the socket tables of ITS OWN network namespace
 * (/proc/<pid>/net/*, not /proc/net: a containerised process is judged against its own tables),
 * its limits, the namespace's sysctls and, when a listener has a queue, the backlog limits from ss.
 */
import { statSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { InputError, isDenied, isVanished } from '../errors.js';
import type { Process } from '../model/process.js';
import type { NetSysctls, Snapshot } from '../model/snapshot.js';
import { buildSnapshot } from '../model/snapshot.js';
import { countKinds } from '../model/fd.js';
import type { Socket } from '../model/socket.js';
import { INET_TABLES, readProcNetInet } from './proc-net-inet.js';
import { readProcNetOther } from './proc-net-other.js';
import { readProcNetUnix } from './proc-net-unix.js';
import {
  parseCmdline, parseProcPidLimits, parseProcPidStat, readIfPresent, readNetns, readProcPidFd, readUid,
} from './proc-pid.js';
import { runSsListenBacklogs } from './ss.js';
import { NET_SYSCTL_FILES, parseNetSysctls, readHostSysctls, readNetSysctls } from './sysctls.js';

export interface LiveOptions {
  procRoot?: string;
  /** Ask ss for listen backlog limits (default: when live and a listener has a queue). */
  backlog?: boolean;
  now?: () => Date;
}

/** Reads the socket tables of the namespace seen through `netDir` (/proc/<pid>/net). */
export function readNetTables(netDir: string, netns: string | null): { sockets: Socket[]; tables: string[] } {
  const sockets: Socket[] = [];
  const tables: string[] = [];
  const add = (name: string, rows: Socket[] | null): void => {
    if (rows === null) return;
    tables.push(name);
    for (const row of rows) sockets.push(row);
  };
  for (const table of INET_TABLES) add(table, readProcNetInet(netDir, table, netns));
  add('unix', readProcNetUnix(netDir, netns));
  add('netlink', readProcNetOther(netDir, 'netlink', netns));
  add('packet', readProcNetOther(netDir, 'packet', netns));
  return { sockets, tables };
}

/** Collects the snapshot `fdleak diagnose <pid>` judges. Throws InputError if the pid is not there. */
export async function collectLiveProcess(pid: number, options: LiveOptions = {}): Promise<Snapshot> {
  const procRoot = options.procRoot ?? '/proc';
  const takenAt = (options.now ?? (() => new Date()))().toISOString();
  const source = `${procRoot}/${pid}`;
  const gone = (): InputError => new InputError('no such process', { source: `pid ${pid}` });
  try {
    statSync(source);
  } catch (error) {
    if (isVanished(error)) throw gone();
    throw error;
  }
  const warnings: string[] = [];
  try {
    const statText = readIfPresent(`${source}/stat`);
    if (statText === undefined) throw gone();
    const stat = parseProcPidStat(statText, `${source}/stat`);
    if (stat.state === 'Z') warnings.push(`pid ${pid} is a zombie: it holds no fds until its parent reaps it`);
    const cmdline = readIfPresent(`${source}/cmdline`);
    const limitsText = readIfPresent(`${source}/limits`);
    const fdLimit = limitsText === undefined ? null : parseProcPidLimits(limitsText, `${source}/limits`);
    const netns = readNetns(procRoot, pid);
    const fdTable = readProcPidFd(procRoot, pid);
    if (fdTable.denied) {
      warnings.push(`cannot read ${fdTable.fds.length === 0 ? 'the fds' : 'some fds'} of pid ${pid}: permission denied; run as root (or as the process's user) for full coverage`);
    }
    const { sockets: allRows, tables } = readNetTables(`${source}/net`, netns);

    // Join rows to this process's fds by inode; keep only its own rows and ownerless ones
    // (TIME_WAIT, orphaned FIN_WAIT2, unaccepted children): nothing else can concern it.
    const fdByInode = new Map<string, number>();
    for (const fd of fdTable.fds) if (fd.kind === 'socket' && fd.inode !== null) fdByInode.set(fd.inode, fd.fd);
    const sockets: Socket[] = [];
    for (const row of allRows) {
      const fd = row.inode === null ? undefined : fdByInode.get(row.inode);
      if (fd !== undefined) {
        row.owners.push({ pid, fd, command: stat.command });
        sockets.push(row);
      } else if (row.inode === '0') {
        sockets.push(row);
      }
    }

    const queued = sockets.some((s) => s.state === 'LISTEN' && s.owners.length > 0 && (s.rxQueue ?? 0) > 0);
    const live = procRoot === '/proc';
    const selfNetns = readNetns(procRoot, 'self');
    const foreign = netns !== null && selfNetns !== null && netns !== selfNetns;
    let backlogKnown = false;
    if (options.backlog ?? (live && queued)) {
      const backlogs = await runSsListenBacklogs(foreign ? `${source}/ns/net` : null);
      if (backlogs === null) {
        warnings.push(`listen backlog limits unknown: ss -ltn ${foreign ? 'could not be run in the process\'s network namespace' : 'is not available'}`);
      } else {
        backlogKnown = true;
        for (const s of sockets) if (s.state === 'LISTEN' && s.inode !== null) s.backlog = backlogs.get(s.inode) ?? null;
      }
    }

    const sysctls = readSysctlsOf(procRoot, source, foreign && live, warnings);
    const process: Process = {
      pid,
      command: stat.command,
      cmdline: cmdline === undefined ? null : parseCmdline(cmdline),
      uid: readUid(procRoot, pid),
      startTime: stat.startTime,
      fdCount: fdTable.count,
      fdTableComplete: fdTable.complete,
      fdLimit,
      netns,
      threads: stat.threads,
      fdKinds: countKinds(fdTable.fds),
    };
    return buildSnapshot({
      takenAt,
      kind: 'live',
      processes: [process],
      fds: fdTable.fds,
      sockets,
      namespaces: [{ id: netns, tables, sysctls, backlogKnown }],
      host: readHostSysctls(`${procRoot}/sys`),
      coverage: {
        fdTables: fdTable.complete, socketTables: true, netnsAware: true, limits: fdLimit !== null,
        sysctls: sysctls.ipLocalPortRange !== null, ownerlessRows: true,
      },
      warnings,
    });
  } catch (error) {
    if (isVanished(error)) throw new InputError(`pid ${pid} exited while it was being read`, { source: `pid ${pid}` });
    if (isDenied(error)) throw new InputError(`permission denied reading ${String((error as { path?: string }).path ?? source)}`, { source: `pid ${pid}` });
    throw error;
  }
}

/**
 * /proc/sys/net shows the namespace of the reader: for a process in another namespace, read it
 * through `nsenter --net` (root only); otherwise say the values are fdleak's own namespace's.
 */
function readSysctlsOf(procRoot: string, source: string, foreign: boolean, warnings: string[]): NetSysctls {
  if (foreign) {
    try {
      const files = NET_SYSCTL_FILES.map((f) => `/proc/sys/${f}`);
      // One value per line, in file order: each of these files is a single line.
      const out = execFileSync('nsenter', [`--net=${source}/ns/net`, 'cat', ...files], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] });
      return parseNetSysctls(out.split('\n'));
    } catch {
      warnings.push('sysctls read from fdleak\'s own network namespace: nsenter into the process\'s one failed');
    }
  }
  return readNetSysctls(`${procRoot}/sys`);
}
