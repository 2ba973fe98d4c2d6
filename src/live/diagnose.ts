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
import { INET_TABLES, parseProcNetInet, readProcNetText } from '../parse/proc-net-inet.js';
import { parseProcNetOther } from '../parse/proc-net-other.js';
import { parseProcNetUnix } from '../parse/proc-net-unix.js';
import {
  parseCmdline, parseProcPidLimits, parseProcPidStat, readIfPresent, readNetns, readProcPidFd, readProcPidFdShared, readUid,
} from './proc-pid.js';
import type { NetTexts, ProcPidPrefetch } from './threads/proc-pid-worker.js';
import { NET_TABLE_FILES } from './threads/proc-pid-worker.js';
import { runSsListenBacklogs } from '../parse/ss.js';
import { readOtherHalves } from './other-halves.js';
import { socketProtocols } from './socket-protocols.js';
import { NET_SYSCTL_FILES, parseNetSysctls, readHostSysctls, readNetSysctls } from './sysctls.js';
import { addFdDetails, readInotifyLimits, readInotifyUser } from './fd-details.js';
import { locationOf } from './cgroup.js';

export interface LiveOptions {
  procRoot?: string;
  /** Ask ss for listen backlog limits (default: when live and a listener has a queue). */
  backlog?: boolean;
  now?: () => Date;
  /** A read of this process's fd and socket tables under way on a worker (used if pid and procRoot match). */
  prefetch?: ProcPidPrefetch;
  /** Filled with when each step ended (performance.now()): fds, tables, facts, validated; and whether the worker helped. */
  timings?: Map<string, number>;
}

/**
 * Reads the socket tables of the namespace seen through `netDir` (/proc/<pid>/net). `keep(inode)`:
 * only rows whose inode it accepts (the others are not parsed, see parseProcNetInet). `texts`:
 * tables already read (proc-pid-worker.ts), by file name; the others are read here.
 */
export function readNetTables(
  netDir: string,
  netns: string | null,
  keep?: (inode: string) => boolean,
  texts?: NetTexts,
): { sockets: Socket[]; tables: string[] } {
  const sockets: Socket[] = [];
  const tables: string[] = [];
  const add = (name: string, parse: (text: string, path: string) => Socket[]): void => {
    const path = `${netDir}/${name}`;
    const text = texts?.has(name) === true ? texts.get(name)! : readProcNetText(path);
    if (text === null) return;
    tables.push(name);
    for (const row of parse(text, path)) sockets.push(row);
  };
  for (const table of INET_TABLES) add(table, (text, path) => parseProcNetInet(text, path, table, netns, undefined, undefined, keep));
  add('unix', (text, path) => parseProcNetUnix(text, path, netns, undefined, keep));
  add('netlink', (text, path) => parseProcNetOther(text, path, 'netlink', netns, undefined, keep));
  add('packet', (text, path) => parseProcNetOther(text, path, 'packet', netns, undefined, keep));
  return { sockets, tables };
}

/**
 * The socket tables no one has claimed yet, claimed and read here (the worker of proc-pid-worker.ts
 * reads the others). Only once every fd link has been claimed: tables are read after the fds.
 */
function readOwnNetTexts(prefetch: ProcPidPrefetch, netDir: string): NetTexts {
  const texts: NetTexts = new Map();
  for (let t = Atomics.add(prefetch.claims, 1, 1); t < NET_TABLE_FILES.length; t = Atomics.add(prefetch.claims, 1, 1)) {
    texts.set(NET_TABLE_FILES[t]!, readProcNetText(`${netDir}/${NET_TABLE_FILES[t]}`));
  }
  return texts;
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
    const statText = readIfPresent(`${source}/stat`, true);
    if (statText === undefined) throw gone();
    const stat = parseProcPidStat(statText, `${source}/stat`);
    if (stat.state === 'Z') warnings.push(`pid ${pid} is a zombie: it holds no fds until its parent reaps it`);
    const cmdline = readIfPresent(`${source}/cmdline`, true);
    const limitsText = readIfPresent(`${source}/limits`);
    const fdLimit = limitsText === undefined ? null : parseProcPidLimits(limitsText, `${source}/limits`);
    const netns = readNetns(procRoot, pid);
    const prefetch = options.prefetch?.pid === pid && options.prefetch.procRoot === procRoot ? options.prefetch : undefined;
    // With a worker: once every link is claimed, this thread reads its share of the socket tables
    // while the worker finishes, then builds the fd records while the worker reads its share.
    let texts: NetTexts | undefined; // those read here; the worker reads the others
    const fdTable = prefetch === undefined
      ? readProcPidFd(procRoot, pid)
      : await readProcPidFdShared(prefetch, () => (texts = readOwnNetTexts(prefetch, `${source}/net`)));
    options.timings?.set('fds', performance.now()).set('second thread', prefetch === undefined ? 0 : 1);
    if (fdTable.denied) {
      warnings.push(`cannot read ${fdTable.fds.length === 0 ? 'the fds' : 'some fds'} of pid ${pid}: permission denied; run as root (or as the process's user) for full coverage`);
    }
    // Join rows to this process's fds by inode; keep only its own rows and ownerless ones
    // (TIME_WAIT, orphaned FIN_WAIT2, unaccepted children): nothing else can concern it. The
    // others are not even parsed: on a busy host they are nearly all of the rows.
    const fdByInode = new Map<string, number>();
    for (let i = 0; i < fdTable.fds.length; i++) { // indexed: cold, over every fd, for-of costs more
      const fd = fdTable.fds[i]!;
      if (fd.kind === 'socket' && fd.inode !== null) fdByInode.set(fd.inode, fd.fd);
    }
    if (prefetch !== undefined) {
      texts ??= readOwnNetTexts(prefetch, `${source}/net`); // the worker failed before: read them all here
      // Unless every table was read here, the worker has the rest (or, had it failed, null).
      if (texts.size < NET_TABLE_FILES.length) for (const [name, text] of (await prefetch.netTexts()) ?? []) texts.set(name, text);
    }
    const keep = (inode: string): boolean => inode === '0' || fdByInode.has(inode);
    const { sockets: allRows, tables } = readNetTables(`${source}/net`, netns, keep, texts);
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

    // Socket fds in no table (orphans): their protocol, which only the socket's xattr knows.
    if (procRoot === '/proc') {
      const inTables = new Set(allRows.map((r) => r.inode));
      const orphans = fdTable.fds.filter((f) => f.kind === 'socket' && f.inode !== null && !inTables.has(f.inode));
      const protocols = await socketProtocols(pid, orphans.map((f) => f.fd), fdTable.count, warnings);
      for (const f of orphans) f.hint = protocols.get(f.fd) ?? f.hint;
    }
    // The other end of its half-closed connections, when another process of the namespace holds it.
    for (const row of readOtherHalves(procRoot, pid, netns, sockets)) sockets.push(row);
    options.timings?.set('tables', performance.now());
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
    // Deleted files (stat), anon inode types, inotify watches (fdinfo); where the process lives.
    addFdDetails(procRoot, pid, fdTable.fds);
    process.location = locationOf(procRoot, pid);
    if (fdTable.fds.some((f) => f.anonType === 'inotify')) process.inotifyUser = readInotifyUser(procRoot, pid);
    options.timings?.set('facts', performance.now());
    const snapshot = buildSnapshot({
      takenAt,
      kind: 'live',
      processes: [process],
      fds: fdTable.fds,
      sockets,
      namespaces: [{ id: netns, tables, sysctls, backlogKnown }],
      host: { ...readHostSysctls(`${procRoot}/sys`), inotify: readInotifyLimits(procRoot, pid) },
      coverage: {
        fdTables: fdTable.complete, socketTables: true, netnsAware: true, limits: fdLimit !== null,
        sysctls: sysctls.ipLocalPortRange !== null, ownerlessRows: true,
      },
      warnings,
    });
    options.timings?.set('validated', performance.now());
    return snapshot;
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
