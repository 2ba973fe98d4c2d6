/**
 * What a link target alone does not say about an fd, read for the few fds that need it:
 * - deleted files ("/var/log/app.log (deleted)"): stat(2) through /proc/<pid>/fd/N follows the fd to
 *   the unlinked inode: st_size, and st_blocks * 512 (what it still takes on disk; sparse files take
 *   less than their size). memfd ("/memfd:name (deleted)") is anonymous memory, not a deleted file.
 *   A captured /proc tree (test fixtures) cannot hold the inode: there `<pid>/fdstat/N` holds
 *   "st_size st_blocks" as stat gave them at capture time (test/helpers/capture-proc-tree.ts);
 * - anon inodes: the type is in the target, bracketed or not ("anon_inode:[eventpoll]",
 *   "anon_inode:inotify", "anon_inode:bpf-map");
 * - inotify instances: /proc/<pid>/fdinfo/N has one "inotify wd:N ino:... sdev:..." line per watch
 *   (Documentation/filesystems/proc.rst, "inotify files");
 * - the inotify limits in force: fs.inotify.max_user_{instances,watches} (the initial user
 *   namespace) and, for a process in another user namespace, /proc/sys/user/max_inotify_{instances,
 *   watches} as seen in that namespace (read through nsenter --user); the lower of the two applies
 *   (a namespace in between is not read).
 * A process or fd that vanished, or a permission error, leaves the detail unknown (null), never fails.
 */
import { anonTypeOf } from '../model/fd-kinds.js';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import type { Fd } from '../model/fd.js';
import type { Process } from '../model/process.js';

const DELETED = ' (deleted)';

/** A file unlinked while open: "/tmp/x (deleted)"; not a memfd. */
export function isDeletedTarget(target: string): boolean {
  return target.endsWith(DELETED) && target.startsWith('/') && !target.startsWith('/memfd:');
}

/** Number of "inotify wd:" lines of an fdinfo text. */
export function countInotifyWatches(fdinfo: string): number {
  let n = 0;
  for (let i = fdinfo.indexOf('inotify wd:'); i >= 0; i = fdinfo.indexOf('inotify wd:', i + 11)) n++;
  return n;
}

/**
 * Adds deleted/size/diskBytes to deleted files, anonType to anon inodes, inotifyWatches to inotify
 * instances of `pid`'s fds (in place). Reads only those fds: a stat per deleted file, an fdinfo per
 * inotify instance.
 */
export function addFdDetails(procRoot: string, pid: number, fds: Fd[]): void {
  for (const fd of fds) {
    if (fd.kind === 'file' && isDeletedTarget(fd.target)) {
      const st = statFd(procRoot, pid, fd.fd);
      if (st !== null && st.nlink > 0) continue; // a live file whose name really ends in " (deleted)"
      fd.deleted = true;
      fd.size = st?.size ?? null;
      fd.diskBytes = st?.diskBytes ?? null;
    } else if (fd.kind === 'anon_inode') {
      const type = anonTypeOf(fd.target);
      if (type === null) continue;
      fd.anonType = type;
      if (type === 'inotify') fd.inotifyWatches = inotifyWatches(procRoot, pid, fd.fd);
    }
  }
}

function statFd(procRoot: string, pid: number, fd: number): { size: number; diskBytes: number; nlink: number } | null {
  try {
    const st = statSync(`${procRoot}/${pid}/fd/${fd}`);
    return { size: st.size, diskBytes: st.blocks * 512, nlink: st.nlink };
  } catch {
    // A captured tree: the link dangles; its fdstat/N says what stat said at capture time.
    const text = readOrNull(`${procRoot}/${pid}/fdstat/${fd}`);
    const m = text === null ? null : /^(\d+) (\d+)\s*$/.exec(text);
    return m === null ? null : { size: Number(m[1]), diskBytes: Number(m[2]) * 512, nlink: 0 };
  }
}

function inotifyWatches(procRoot: string, pid: number, fd: number): number | null {
  const text = readOrNull(`${procRoot}/${pid}/fdinfo/${fd}`);
  return text === null ? null : countInotifyWatches(text);
}

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

function linkOrNull(path: string): string | null {
  try {
    return readlinkSync(path);
  } catch {
    return null;
  }
}

export interface InotifyLimits {
  maxUserInstances: number;
  maxUserWatches: number;
  /** Where they were read, for the finding's evidence. */
  source: string;
}

/** The inotify limits that apply to `pid`'s user (see the file comment); null if unreadable. */
export function readInotifyLimits(procRoot: string, pid: number): InotifyLimits | null {
  const num = (t: string | null | undefined): number | null => (t !== null && t !== undefined && /^\d+$/.test(t.trim()) ? Number(t.trim()) : null);
  const hostI = num(readOrNull(`${procRoot}/sys/fs/inotify/max_user_instances`));
  const hostW = num(readOrNull(`${procRoot}/sys/fs/inotify/max_user_watches`));
  if (hostI === null || hostW === null) return null;
  let nsI: number | null = null;
  let nsW: number | null = null;
  const userns = linkOrNull(`${procRoot}/${pid}/ns/user`);
  if (procRoot === '/proc') {
    if (userns !== null && userns !== linkOrNull('/proc/self/ns/user')) {
      try {
        const out = execFileSync('nsenter', [`--user=/proc/${pid}/ns/user`, 'cat', '/proc/sys/user/max_inotify_instances', '/proc/sys/user/max_inotify_watches'], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] }).split('\n');
        nsI = num(out[0]);
        nsW = num(out[1]);
      } catch {
        // not permitted: the host's limits are still a bound
      }
    }
  } else {
    // A captured tree: sys/user/ holds the values read in the process's user namespace.
    nsI = num(readOrNull(`${procRoot}/sys/user/max_inotify_instances`));
    nsW = num(readOrNull(`${procRoot}/sys/user/max_inotify_watches`));
  }
  const ns = nsI !== null && nsI < hostI;
  return {
    maxUserInstances: Math.min(hostI, nsI ?? hostI),
    maxUserWatches: Math.min(hostW, nsW ?? hostW),
    source: ns ? `${userns ?? 'user namespace'} /proc/sys/user` : 'fs.inotify',
  };
}

/** A walk stops after this many processes of the user: the total is then a lower bound, and says so. */
const MAX_USER_PROCESSES = 4000;

/**
 * inotify instances and watches of every process with `pid`'s euid in `pid`'s user namespace (the
 * kernel counts them per user: inotify_init charges current_euid()). Walks only those processes'
 * fd links, and fdinfo only of inotify instances. Null when the owner or namespace is unknown.
 */
export function readInotifyUser(procRoot: string, pid: number): Process['inotifyUser'] {
  let uid: number;
  try {
    uid = statSync(`${procRoot}/${pid}`).uid;
  } catch {
    return null;
  }
  const userns = linkOrNull(`${procRoot}/${pid}/ns/user`);
  let names: string[];
  try {
    names = readdirSync(procRoot);
  } catch {
    return null;
  }
  let instances = 0;
  let watches = 0;
  let processes = 0;
  for (const name of names) {
    if (!/^\d+$/.test(name) || processes >= MAX_USER_PROCESSES) continue;
    try {
      if (statSync(`${procRoot}/${name}`).uid !== uid) continue;
    } catch {
      continue;
    }
    if (linkOrNull(`${procRoot}/${name}/ns/user`) !== userns) continue;
    let fds: string[];
    try {
      fds = readdirSync(`${procRoot}/${name}/fd`);
    } catch {
      continue; // gone, or not ours to read
    }
    processes++;
    for (const fd of fds) {
      const target = linkOrNull(`${procRoot}/${name}/fd/${fd}`);
      if (target === null || anonTypeOf(target) !== 'inotify') continue;
      instances++;
      watches += inotifyWatches(procRoot, Number(name), Number(fd)) ?? 0;
    }
  }
  return { uid, instances, watches, processes };
}
