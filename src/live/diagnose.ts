/**
 * A live snapshot of one process: its fd table, and the socket tables of ITS OWN network namespace
 * (/proc/<pid>/net/*, not /proc/net: a containerised process is judged against its own tables),
 * its limits, the namespace's sysctls and, when a listener has a queue, the backlog limits from ss.
 */
import { statSync } from 'node:fs';
import { InputError, isDenied, isVanished } from '../errors.js';
import type { Process } from '../model/process.js';
import type { NetSysctls, Snapshot } from '../model/snapshot.js';
import { liveSnapshot } from '../model/live-snapshot.js';
import type { Fd } from '../model/fd.js';
import { countKinds } from '../model/fd-kinds.js';
import { knownOrphans } from '../model/queries.js';
import type { Socket } from '../model/socket.js';
import type { KeepRow } from '../parse/proc-net-inet.js';
import { INET_TABLES, parseProcNetInet, parseSelectedRows, readProcNetText, selectInetRows } from '../parse/proc-net-inet.js';
import { parseProcNetOther } from '../parse/proc-net-other.js';
import { parseProcNetUnix } from '../parse/proc-net-unix.js';
import {
  parseCmdline, parseProcPidLimits, parseProcPidStat, readIfPresent, readNetns, readProcPidFd, readProcPidFdShared, readUid,
} from './proc-pid.js';
import type { NetTexts, ProcPidPrefetch, WorkerSelections } from './threads/proc-pid-worker.js';
import { NET_TABLE_FILES } from './threads/proc-pid-worker.js';
import { runIn } from './programs.js';
import { NO_ROWS, readTcpTablesWithoutRows } from './sockstat.js';
import { runSsListenBacklogs } from './ss-backlog.js';
import { readOtherHalves } from './other-halves.js';
import { ownRows } from './own-rows.js';
import type { ProtocolHelper } from './socket-protocols.js';
import { startProtocolHelper, startSocketProtocols } from './socket-protocols.js';
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
  /**
   * Filled with when each step ended (performance.now()): fds, own tables (those this thread read),
   * details read, their tables in (the worker's, with its selections of their rows), rows parsed,
   * tables, orphans named (the helper program's answer in), facts, validated; and whether the
   * worker helped.
   */
  timings?: Map<string, number>;
  /**
   * Start python3 for the orphans' protocols before reading (socket-protocols.ts startProtocolHelper),
   * so that its start-up is not waited for: for one read (`fdleak diagnose`). Off by default: a
   * reader that reads again and again (watch, trace) would pay a python3 start per read of a
   * process with no orphan, where otherwise none is started.
   */
  earlyProtocols?: boolean;
}

/** Which rows readNetTables parses: inet rows judged on their inode and st columns, the others on their inode. */
export interface KeepRows {
  inet: KeepRow;
  other: (inode: string) => boolean;
}

/**
 * Reads the socket tables of the namespace seen through `netDir` (/proc/<pid>/net). `keep`: only
 * rows it accepts (the others are not parsed, see parseProcNetInet). `texts`: tables already read
 * (proc-pid-worker.ts), by file name; the others are read here.
 *
 * `selected` (with `keep` and `judged`): selectInetRows(text, keep.inet) of some tables, by name,
 * made already by the worker (proc-pid-reader.ts selectRows) of the same text as in `texts`,
 * without their kept inodes: `judged` is then given, beside the others, the process's socket
 * inodes in none of those tables' rows (WorkerSelections.unmatched).
 *
 * `judged` (with `keep`): called once with the inode of every row kept (but those of `selected`'s
 * tables, whose place `unmatched` takes), as soon as they are known:
 * after each row's columns were judged and the small tables (unix, netlink, packet) parsed, before
 * the kept rows of the inet tables are parsed (parseProcNetInet in its two steps, selectInetRows
 * and parseSelectedRows), or after, where some inet row could only be judged by parsing it. Live
 * diagnose asks its helper program about the fds in no table then, so that it works while the rows
 * are parsed: measured on a 15,000-fd process with 2,000 orphans in a 25,000-row namespace, asked
 * after the parse, its answer was waited for 19-47 ms (load 2.6-3).
 */
export function readNetTables(
  netDir: string,
  netns: string | null,
  keep?: KeepRows,
  texts?: NetTexts,
  judged?: (kept: string[], unmatched?: ReadonlySet<string>) => void,
  selected?: WorkerSelections,
): { sockets: Socket[]; tables: string[] } {
  const sockets: Socket[] = [];
  const tables: string[] = [];
  /** The table's text, if it has rows (null: no such table, or none: sockstat.ts). */
  const textOf = (name: string): string | null => {
    const text = texts?.has(name) === true ? texts.get(name)! : readProcNetText(`${netDir}/${name}`);
    if (text === null) return null;
    tables.push(name);
    return text === NO_ROWS ? null : text;
  };
  const inet = INET_TABLES.map((table) => ({ table, text: textOf(table) }));
  const selections = judged === undefined || keep === undefined ? undefined
    : inet.map(({ table, text }) => (text === null ? undefined : (selected?.tables.get(table) ?? selectInetRows(text, keep.inet))));
  const others: Socket[] = [];
  const other = (name: string, parse: (text: string, path: string) => Socket[]): void => {
    const text = textOf(name);
    if (text !== null) for (const row of parse(text, `${netDir}/${name}`)) others.push(row);
  };
  other('unix', (text, path) => parseProcNetUnix(text, path, netns, undefined, keep?.other));
  other('netlink', (text, path) => parseProcNetOther(text, path, 'netlink', netns, undefined, keep?.other));
  other('packet', (text, path) => parseProcNetOther(text, path, 'packet', netns, undefined, keep?.other));
  const inodes = (rows: readonly Socket[]): string[] => rows.flatMap((r) => (r.inode === null ? [] : [r.inode]));
  const early = selections !== undefined && selections.every((s) => s === undefined || s.unjudged === 0);
  if (early) judged!([...selections.flatMap((s) => s?.kept ?? []), ...inodes(others)], selected?.unmatched);
  inet.forEach(({ table, text }, i) => {
    if (text === null) return;
    const path = `${netDir}/${table}`;
    const selection = selections?.[i];
    const rows = selection === undefined
      ? parseProcNetInet(text, path, table, netns, undefined, undefined, keep?.inet)
      : parseSelectedRows(text, selection, path, table, netns);
    for (const row of rows) sockets.push(row);
  });
  for (const row of others) sockets.push(row);
  if (judged !== undefined && !early) judged(inodes(sockets));
  return { sockets, tables };
}

/**
 * The texts of the socket tables (NET_TABLE_FILES) under `netDir`: all of them, or with a worker
 * (proc-pid-worker.ts) those it has not claimed yet, claimed here one by one; it reads the others.
 * A TCP table the namespace's counters say is empty is not read: NO_ROWS (sockstat.ts).
 */
function readNetTexts(netDir: string, prefetch?: ProcPidPrefetch): NetTexts {
  const texts: NetTexts = new Map();
  let next = 0;
  const claim = (): number => (prefetch === undefined ? next++ : Atomics.add(prefetch.claims, 1, 1));
  let empty: Set<string> | undefined; // read once, on the first claim
  for (let t = claim(); t < NET_TABLE_FILES.length; t = claim()) {
    const name = NET_TABLE_FILES[t]!;
    empty ??= readTcpTablesWithoutRows(netDir);
    texts.set(name, empty.has(name) ? NO_ROWS : readProcNetText(`${netDir}/${name}`));
  }
  return texts;
}

/** Collects the snapshot `fdleak diagnose <pid>` judges. Throws InputError if the pid is not there. */
export async function collectLiveProcess(pid: number, options: LiveOptions = {}): Promise<Snapshot> {
  const procRoot = options.procRoot ?? '/proc';
  const takenAt = (options.now ?? (() => new Date()))().toISOString();
  const source = `${procRoot}/${pid}`;
  const gone = (): InputError => new InputError('no such process', { source: `pid ${pid}` });
  let command: string | undefined; // once stat is read
  const vanished = (name = command, replaced = false): InputError => new InputError(
    `${replaced ? 'exited and its pid was reused' : 'exited'} while it was being read; no report (its numbers would be partial)`,
    { source: name === undefined ? `pid ${pid}` : `pid ${pid} (${name})` },
  );
  try {
    statSync(source);
  } catch (error) {
    if (isVanished(error)) throw gone();
    throw error;
  }
  const warnings: string[] = [];
  let helper: ProtocolHelper | undefined; // python3, started early for the orphans' protocols
  try {
    const statText = readIfPresent(`${source}/stat`, true);
    if (statText === undefined) throw gone();
    const stat = parseProcPidStat(statText, `${source}/stat`);
    command = stat.command;
    // An exited process (a zombie until its parent reaps it) holds no fds: nothing to diagnose, and
    // "0 fds, no findings" would be a wrong answer. A zombie leader whose other threads still run
    // is a live process: read it, with a warning (its fds are not under /proc/<pid>/fd then).
    if ((stat.state === 'Z' || stat.state === 'X') && stat.threads <= 1) {
      throw new InputError('has exited (a zombie until its parent reaps it): it holds no fds to diagnose', { source: `pid ${pid} (${stat.command})` });
    }
    if (stat.state === 'Z') warnings.push(`pid ${pid} is a zombie: it holds no fds until its parent reaps it`);
    if (procRoot === '/proc' && options.earlyProtocols === true) helper = await startProtocolHelper(pid);
    const cmdline = readIfPresent(`${source}/cmdline`, true);
    const limitsText = readIfPresent(`${source}/limits`);
    const fdLimit = limitsText === undefined ? null : parseProcPidLimits(limitsText, `${source}/limits`);
    const netns = readNetns(procRoot, pid);
    const live = procRoot === '/proc';
    const selfNetns = readNetns(procRoot, 'self');
    const foreign = netns !== null && selfNetns !== null && netns !== selfNetns;
    // Started now, for a process in another namespace a program run through nsenter (~10 ms on the
    // other core), and waited for once the tables are parsed, rather than started then.
    const sysctlsRead = readSysctlsOf(procRoot, source, foreign && live);
    sysctlsRead.catch(() => {}); // awaited below, where a failure is thrown
    const prefetch = options.prefetch?.pid === pid && options.prefetch.procRoot === procRoot ? options.prefetch : undefined;
    // Without a worker, the socket tables, then the fd links. With one, the tables are the worker's
    // first job and the links this thread's: it goes to the links at once (the worker joins them
    // once its tables are read), then reads the tables the worker has not claimed by then (none,
    // unless it never got going), and waits for the rest. Why: started from the start-up snapshot,
    // this thread is ready before the worker is up (measured on a 15,000-fd process in a
    // 25,000-row namespace: it starts at 31-35 ms, the worker is up at 45-55); reading tcp itself
    // (~50 ms) it left the worker, once up, waiting for the names of the fds it could only be given
    // by this thread's event loop. Either order leaves a socket that churns between the two reads
    // looking like an orphan (tables first: one opened in between; fds first: one closed in between).
    const tablesFirst = prefetch === undefined ? readNetTexts(`${source}/net`) : undefined;
    const fdTable = prefetch === undefined ? readProcPidFd(procRoot, pid) : await readProcPidFdShared(prefetch);
    options.timings?.set('fds', performance.now()).set('second thread', prefetch === undefined ? 0 : 1);
    const texts = tablesFirst ?? readNetTexts(`${source}/net`, prefetch); // with a worker: those it left
    options.timings?.set('own tables', performance.now());
    if (fdTable.denied) {
      warnings.push(`cannot read ${fdTable.fds.length === 0 ? 'the fds' : 'some fds'} of pid ${pid}: permission denied; run as root (or as the process's user) for full coverage`);
    }
    // Join rows to this process's fds by inode; keep only its own rows and ownerless ones
    // (TIME_WAIT, orphaned FIN_WAIT2, unaccepted children): nothing else can concern it, but the
    // FIN_WAIT2 and CLOSE_WAIT rows of others, where the other halves of its own are (few, and
    // parsed in this one pass rather than in a second pass over the text: measured on a 15,000-fd
    // process with 1,000 CLOSE_WAIT in a 25,000-row table, that second pass cost 35-48 ms). The
    // others are not even parsed: on a busy host they are nearly all of the rows.
    const fdByInode = new Map<string, number>();
    for (let i = 0; i < fdTable.fds.length; i++) { // indexed: cold, over every fd, for-of costs more
      const fd = fdTable.fds[i]!;
      if (fd.kind === 'socket' && fd.inode !== null) fdByInode.set(fd.inode, fd.fd);
    }
    // Deleted files (stat), anon inode types, inotify watches (fdinfo); where the process lives; the
    // host's limits: none depends on the tables, nor on the protocol helper's answer. Read here,
    // while the worker selects the rows of its tables (it has had every link for a moment), rather
    // than after the rows are parsed: the main thread would otherwise wait for its selection
    // (measured on a 15,000-fd process in a 25,000-row namespace, load ~2.5: 0-53 ms).
    const uid = readUid(procRoot, pid);
    addFdDetails(procRoot, pid, fdTable.fds);
    const location = locationOf(procRoot, pid);
    const inotify = fdTable.fds.some((f) => f.anonType === 'inotify');
    const inotifyUser = inotify ? readInotifyUser(procRoot, pid) : undefined;
    const host = { ...readHostSysctls(`${procRoot}/sys`), inotify: readInotifyLimits(procRoot, pid) };
    options.timings?.set('details read', performance.now());
    // Unless every table was read here, the worker has the rest (had it failed: null, and
    // readNetTables reads what is missing).
    let selected: WorkerSelections | undefined; // the worker's selections of its tables' rows
    if (prefetch !== undefined && texts.size < NET_TABLE_FILES.length) {
      const theirs = await prefetch.netTexts();
      for (const [name, text] of theirs ?? []) texts.set(name, text);
      // Made of the texts it sent (null: this thread selects), for the links of fdTable: shareLinks in readProcPidFdShared.
      if (theirs !== null && prefetch.delivered.chunks > 0) selected = (await prefetch.selections()) ?? undefined;
    }
    options.timings?.set('their tables in', performance.now());
    const keep: KeepRows = {
      inet: ownRows((inode) => fdByInode.has(inode)),
      other: (inode) => inode === '0' || fdByInode.has(inode),
    };
    // Socket fds in no table (orphans): their protocol, which only the socket's xattr knows, is
    // asked of the helper program as soon as every row was judged (readNetTables's `judged`), and
    // it answers while the rows are parsed and the rest is read (the other halves, sysctls, fd
    // details); it is waited for before the last look at stat.
    let orphans: Fd[] = [];
    let protocols: Promise<{ result: Promise<Map<number, string>> }> | undefined;
    const { sockets: rows, tables } = readNetTables(`${source}/net`, netns, keep, texts, (kept, unmatched) => {
      const inTables = new Set(kept);
      // With the worker's selections: kept here, or not among its unmatched (readNetTables's `selected`).
      const orphan = (inode: string): boolean => !inTables.has(inode) && (unmatched === undefined || unmatched.has(inode));
      orphans = procRoot === '/proc' ? fdTable.fds.filter((f) => f.kind === 'socket' && f.inode !== null && orphan(f.inode)) : [];
      protocols = startSocketProtocols(pid, orphans.map((f) => f.fd), fdTable.count, warnings, helper);
    }, selected);
    options.timings?.set('rows parsed', performance.now());
    const sockets: Socket[] = [];
    const halfClosedOfOthers: Socket[] = [];
    for (const row of rows) {
      const fd = row.inode === null ? undefined : fdByInode.get(row.inode);
      if (fd !== undefined) {
        // A new array of one, not a push onto the parser's empty one: V8 gives a first push room for
        // 16 (~70 bytes more per row, live to the end: 12,500 of them in a crowded namespace).
        row.owners = [{ pid, fd, command: stat.command }];
        sockets.push(row);
      } else if (row.inode === '0') {
        sockets.push(row);
      } else if (row.state === 'FIN_WAIT2' || row.state === 'CLOSE_WAIT') {
        halfClosedOfOthers.push(row);
      }
    }
    // The other end of its half-closed connections, when another process of the namespace holds it.
    for (const row of readOtherHalves(procRoot, pid, netns, sockets, halfClosedOfOthers)) sockets.push(row);
    options.timings?.set('tables', performance.now());
    const queued = sockets.some((s) => s.state === 'LISTEN' && s.owners.length > 0 && (s.rxQueue ?? 0) > 0);
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

    const { sysctls, warning } = await sysctlsRead;
    if (warning !== undefined) warnings.push(warning);
    const names = await (await protocols!).result;
    options.timings?.set('orphans named', performance.now());
    for (const f of orphans) f.hint = names.get(f.fd) ?? f.hint;
    // Everything of the process is read: was it the same process all along? A process that exits
    // while its fds are read leaves a table cut short that looks like the truth (a closed fd and a
    // vanished process both answer ENOENT): say it vanished rather than report partial numbers.
    const after = readIfPresent(`${source}/stat`);
    const now = after === undefined ? undefined : parseProcPidStat(after, `${source}/stat`);
    if (now === undefined || now.startTime !== stat.startTime || stat.exiting || now.exiting
      || (stat.state !== 'Z' && (now.state === 'Z' || now.state === 'X'))) {
      throw vanished(stat.command, now !== undefined && now.startTime !== stat.startTime);
    }
    const process: Process = {
      pid,
      command: stat.command,
      cmdline: cmdline === undefined ? null : parseCmdline(cmdline),
      uid,
      startTime: stat.startTime,
      fdCount: fdTable.count,
      fdTableComplete: fdTable.complete,
      fdLimit,
      netns,
      threads: stat.threads,
      fdKinds: countKinds(fdTable.fds),
    };
    process.location = location;
    if (inotify) process.inotifyUser = inotifyUser;
    options.timings?.set('facts', performance.now());
    const snapshot = liveSnapshot({
      takenAt,
      kind: 'live',
      processes: [process],
      fds: fdTable.fds,
      sockets,
      namespaces: [{ id: netns, tables, sysctls, backlogKnown }],
      host,
      coverage: {
        fdTables: fdTable.complete, socketTables: true, netnsAware: true, limits: fdLimit !== null,
        sysctls: sysctls.ipLocalPortRange !== null, ownerlessRows: true,
      },
      warnings,
    }); // records of the readers above, not checked: see live-snapshot.ts
    // The orphans judged above are the rules' and the report's (queries.ts knownOrphans says why);
    // only a live read judged them (procRoot /proc): elsewhere the rules judge from the rows.
    if (procRoot === '/proc') knownOrphans(snapshot, pid, orphans);
    options.timings?.set('validated', performance.now());
    return snapshot;
  } catch (error) {
    if (isVanished(error)) throw vanished();
    if (isDenied(error)) throw new InputError(`permission denied reading ${String((error as { path?: string }).path ?? source)}`, { source: `pid ${pid}` });
    throw error;
  } finally {
    helper?.close(); // not asked (an error on the way): it exits on its closed stdin
  }
}

/**
 * /proc/sys/net shows the namespace of the reader: for a process in another namespace, read it
 * through `nsenter --net` (root only); otherwise say the values are fdleak's own namespace's (the
 * warning).
 */
async function readSysctlsOf(procRoot: string, source: string, foreign: boolean): Promise<{ sysctls: NetSysctls; warning?: string }> {
  if (foreign) {
    // One value per line, in file order: each of these files is a single line.
    const out = await runIn(`${source}/ns/net`, ['cat', ...NET_SYSCTL_FILES.map((f) => `/proc/sys/${f}`)], 5000);
    if (out !== null) return { sysctls: parseNetSysctls(out.split('\n')) };
    return { sysctls: readNetSysctls(`${procRoot}/sys`), warning: 'sysctls read from fdleak\'s own network namespace: nsenter into the process\'s one failed' };
  }
  return { sysctls: readNetSysctls(`${procRoot}/sys`) };
}
