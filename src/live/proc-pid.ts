/**
 * Per-process files under /proc/<pid>: fd/ (readlink of each entry), limits, comm, cmdline, stat,
 * ns/net. Quirks handled:
 * - an fd closed between readdir and readlink (ENOENT) is skipped: live churn, not an error;
 * - EACCES on fd/ (another user's process without CAP_SYS_PTRACE, or even root against pid 1 here)
 *   leaves the table incomplete; stat(fd/).st_size still gives the count (proc_fd_getattr);
 * - /proc/<pid>/limits names contain spaces: matched by prefix "Max open files";
 * - stat's comm may hold spaces and parentheses: fields are read after the last ") ".
 */
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { InputError, isDenied, isVanished } from '../errors.js';
import type { Fd } from '../model/fd.js';
import { fdKindOfTarget, inodeOfTarget } from '../model/fd-target.js';
import type { LimitValue } from '../model/process.js';
import type { ProcPidPrefetch } from './threads/proc-pid-worker.js';
import { FD_CHUNK } from './threads/proc-pid-worker.js';
import { utf8Escaped } from '../util/safe-text.js';

export interface FdTable {
  fds: Fd[];
  /** false when the directory could not be listed or some links could not be read. */
  complete: boolean;
  /** st_size of the fd directory: the kernel's count, readable even where listing is denied. */
  count: number;
  denied: boolean;
}

/** Reads every fd link of a process. Throws only if the process does not exist (ENOENT on fd/). */
export function readProcPidFd(procRoot: string, pid: number): FdTable {
  const dir = `${procRoot}/${pid}/fd`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (error) {
    if (isDenied(error)) return { fds: [], complete: false, count: countFds(procRoot, pid) ?? 0, denied: true };
    throw error;
  }
  const targets: Array<string | undefined> = new Array(names.length);
  let next = 0;
  const denied = readLinks(dir, names, targets, () => {
    const start = next;
    next += FD_CHUNK;
    return start;
  });
  return fdTable(procRoot, pid, dir, names, targets, denied);
}

/**
 * readProcPidFd with a worker's help (proc-pid-worker.ts): takes the names listed for it, reads
 * links from the chunks the worker has not claimed, then adds the worker's share. The same table as
 * readProcPidFd, which it falls back to whenever the worker could not do its part.
 */
export async function readProcPidFdShared(prefetch: ProcPidPrefetch): Promise<FdTable> {
  const { procRoot, pid } = prefetch;
  const names = await prefetch.names();
  if (names === null) return readProcPidFd(procRoot, pid);
  const dir = `${procRoot}/${pid}/fd`;
  const targets: Array<string | undefined> = new Array(names.length);
  let mine = 0; // chunks claimed here: if they are all of them, there is nothing to wait for
  let denied = readLinks(dir, names, targets, () => {
    const start = Atomics.add(prefetch.claims, 0, FD_CHUNK);
    if (start < names.length) mine++;
    return start;
  });
  // On a busy machine the worker may not even have started: then this thread read every link.
  // (--debug's timeline: when this thread was done with its chunks, and when it had the worker's.)
  prefetch.marks.push(['main: own links', performance.timeOrigin + performance.now()]);
  const alone = mine === Math.ceil(names.length / FD_CHUNK);
  // The worker has the rest: with these links it knows them all, and selects the table rows
  // diagnose keeps while this thread builds the fd records (proc-pid-reader.ts).
  if (!alone) prefetch.shareLinks(targets);
  const theirs = alone ? { starts: [], links: '', denied: false } : await prefetch.links();
  prefetch.marks.push(['main: their links in', performance.timeOrigin + performance.now()]);
  if (theirs === null) return readProcPidFd(procRoot, pid);
  const links = theirs.links.split('\0');
  let k = 0;
  for (const start of theirs.starts) {
    const end = Math.min(start + FD_CHUNK, names.length);
    for (let i = start; i < end; i++) {
      const target = links[k++]!;
      if (target !== '') targets[i] = target;
    }
  }
  denied ||= theirs.denied;
  return fdTable(procRoot, pid, dir, names, targets, denied);
}

/**
 * Reads the links of the chunks `claim()` hands out (FD_CHUNK names from the index it returns) into
 * `targets`; an fd closed in between is skipped. Returns whether some link was denied.
 */
function readLinks(dir: string, names: string[], targets: Array<string | undefined>, claim: () => number): boolean {
  let denied = false;
  const back = enter(dir);
  try {
    for (let start = claim(); start < names.length; start = claim()) {
      const end = Math.min(start + FD_CHUNK, names.length);
      for (let i = start; i < end; i++) {
        try {
          targets[i] = readlinkSync(back === undefined ? `${dir}/${names[i]}` : names[i]!);
        } catch (error) {
          if (isVanished(error)) continue;
          if (isDenied(error)) { denied = true; continue; }
          throw error;
        }
      }
    }
  } finally {
    if (back !== undefined) process.chdir(back);
  }
  return denied;
}

/** The table from listed names and the targets read (undefined: skipped), sorted by fd number. */
function fdTable(procRoot: string, pid: number, dir: string, names: string[], targets: Array<string | undefined>, denied: boolean): FdTable {
  const fds: Fd[] = [];
  const origin = { source: dir, line: 0 }; // one object for the whole table: 15,000 fds, one origin
  for (let i = 0; i < names.length; i++) {
    const target = targets[i];
    if (target !== undefined) fds.push(fdRecord(pid, Number(names[i]), target, origin));
  }
  fds.sort((a, b) => a.fd - b.fd); // readdir's names come sorted as strings: "1", "10", "100", "2"...
  return { fds, complete: !denied, count: denied ? (countFds(procRoot, pid) ?? fds.length) : fds.length, denied };
}

/**
 * chdir into an fd directory so each link is read by its bare name: the kernel then looks up one
 * path component per fd instead of four (/proc, <pid>, fd, <n>), about 20% of a readlink (Node has
 * no readlinkat). Returns the directory to go back to, or undefined where chdir is not possible
 * (worker threads, a deleted cwd, no search permission): the caller then uses full paths. Safe for
 * fdleak because the read loop is synchronous and no relative-path fs request is in flight: the
 * worker of proc-pid-worker.ts, which may be reading links at the same time, uses absolute paths.
 */
function enter(dir: string): string | undefined {
  try {
    const back = process.cwd();
    process.chdir(dir);
    return back;
  } catch {
    return undefined;
  }
}

function fdRecord(pid: number, fd: number, target: string, origin: Fd['origin']): Fd {
  const kind = fdKindOfTarget(target);
  // Keys in FdSchema's order: the live snapshot keeps the record unchecked (model/live-snapshot.ts),
  // and its JSON must be the one zod's checked copy would give.
  return { pid, fd, kind, inode: kind === 'socket' || kind === 'pipe' ? inodeOfTarget(target) : null, target, hint: null, origin };
}

/** Number of open fds from st_size of /proc/<pid>/fd; undefined if the process is gone. */
export function countFds(procRoot: string, pid: number): number | undefined {
  try {
    return statSync(`${procRoot}/${pid}/fd`).size;
  } catch {
    return undefined;
  }
}

/** "Max open files" soft/hard from /proc/<pid>/limits text; null if the row is absent. */
export function parseProcPidLimits(text: string, source: string): { soft: LimitValue; hard: LimitValue } | null {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    if (!raw.startsWith('Max open files')) continue;
    const cols = raw.slice('Max open files'.length).trim().split(/\s+/);
    const value = (t: string | undefined): LimitValue => {
      if (t === 'unlimited') return 'unlimited';
      if (t === undefined || !/^\d+$/.test(t)) {
        throw new InputError(`expected a number or "unlimited" for the open files limit, found "${t ?? ''}"`, { source, line: i + 1, text: raw });
      }
      return Number(t);
    };
    return { soft: value(cols[0]), hard: value(cols[1]) };
  }
  return null;
}

export interface ProcStat {
  command: string;
  state: string;
  threads: number;
  startTime: number;
  /** PF_EXITING: the process is exiting (its fds are being closed); not yet a zombie. */
  exiting: boolean;
}

/** /proc/<pid>/stat: "1234 (my (odd) name) S 1 ..." -> comm, state, num_threads (20), starttime (22). */
export function parseProcPidStat(text: string, source: string): ProcStat {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(') ');
  if (open < 0 || close < open) throw new InputError('expected "pid (comm) state ..."', { source, line: 1, text });
  return statFields(text.slice(open + 1, close), text.slice(close + 2), source, text);
}

/**
 * parseProcPidStat of the file's bytes, the comm decoded as UTF-8 (invalid bytes shown as `\xNN`,
 * util/safe-text.ts utf8Escaped): the kernel keeps comm as bytes, and cuts it at 15 of them.
 */
export function parseProcPidStatBytes(bytes: Uint8Array, source: string): ProcStat {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const open = buf.indexOf(40); // "("
  const close = buf.lastIndexOf(') ');
  if (open < 0 || close < open) throw new InputError('expected "pid (comm) state ..."', { source, line: 1, text: utf8Escaped(buf) });
  return statFields(utf8Escaped(buf.subarray(open + 1, close)), buf.toString('latin1', close + 2), source, () => utf8Escaped(buf));
}

function statFields(command: string, after: string, source: string, text: string | (() => string)): ProcStat {
  const rest = after.trim().split(' ');
  // rest[0] is field 3 (state); field N is rest[N - 3].
  const threads = Number(rest[17]);
  const startTime = Number(rest[19]);
  if (!Number.isInteger(threads) || !Number.isInteger(startTime)) {
    throw new InputError('expected at least 22 fields', { source, line: 1, text: typeof text === 'string' ? text : text() });
  }
  // Field 9, flags: PF_EXITING (0x4) is set from the start of do_exit(), before the fds are closed
  // and long before the task is a zombie: a read in that window sees an emptying fd table.
  const exiting = (Number(rest[6]) & 0x4) !== 0;
  return { command, state: rest[0] ?? '?', threads, startTime, exiting };
}

/** NUL-separated argv -> one line, arguments joined by spaces. */
export function parseCmdline(raw: string): string {
  return raw.replace(/\0+$/, '').split('\0').join(' ');
}

/**
 * readFileSync that maps "the process went away" to undefined. `escaped`: bytes others chose (comm
 * in stat, cmdline) decoded as UTF-8 with invalid bytes shown as \xNN (utf8Escaped), never U+FFFD.
 */
export function readIfPresent(path: string, escaped = false): string | undefined {
  try {
    return escaped ? utf8Escaped(readFileSync(path)) : readFileSync(path, 'utf8');
  } catch (error) {
    if (isVanished(error) || isDenied(error)) return undefined;
    throw error;
  }
}

/** "net:[4026531840]" of a process; null if it cannot be read (permission, gone). `link`: readlink (tests inject faults). */
export function readNetns(procRoot: string, pid: number | 'self', link: (path: string) => string = readlinkSync): string | null {
  try {
    return link(`${procRoot}/${pid}/ns/net`);
  } catch {
    return null;
  }
}

/** Owner uid of a process, from the owner of its /proc directory. */
export function readUid(procRoot: string, pid: number): number | null {
  try {
    return statSync(`${procRoot}/${pid}`).uid;
  } catch {
    return null;
  }
}
