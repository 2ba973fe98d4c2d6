/**
 * Copies what collectLiveProcess reads for one pid into a directory that can stand in for /proc
 * (`collectLiveProcess(pid, { procRoot: dir })`, `fdleak diagnose <pid> --proc-root <dir>`):
 *
 *   <dir>/<pid>/stat, cmdline, limits        copied
 *   <dir>/<pid>/fd/<n>                       symlinks with the same targets ("socket:[123]", "/dev/null")
 *   <dir>/<pid>/ns/net                       symlink, target "net:[4026532258]"
 *   <dir>/<pid>/net/{tcp,tcp6,udp,...}       the tables of the pid's own network namespace, copied
 *   <dir>/sys/net/...                        the per-namespace sysctls, read inside the pid's namespace
 *   <dir>/sys/fs/file-nr, fs/nr_open         host-wide
 *   <dir>/<pid>/cgroup                       copied (where the process lives: parse/cgroup.ts)
 *   <dir>/<pid>/fdstat/<n>                   "st_size st_blocks" of a deleted file, as stat(2) through
 *                                            /proc/<pid>/fd/<n> gave them (the link dangles in a copy)
 *   <dir>/<pid>/fdinfo/<n>                   copied for inotify instances (their "inotify wd:" lines)
 *   <dir>/<pid>/ns/user                      symlink, target "user:[4026531837]"
 *   <dir>/sys/fs/inotify/*, sys/user/max_inotify_*   host limits; those of the pid's user namespace
 *
 * Not capturable in a /proc tree: listen backlog limits (only inet_diag, i.e. `ss -lnt`, knows
 * them), so a captured listener's backlog reads as unknown.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { INET_TABLES } from '../../src/parse/proc-net-inet.js';
import { NET_SYSCTL_FILES } from '../../src/live/sysctls.js';

/** Every /proc/<pid>/net table collectLiveProcess reads (readNetTables). */
export const NET_TABLES: readonly string[] = [...INET_TABLES, 'unix', 'netlink', 'packet'];
const HOST_SYSCTLS = ['fs/file-nr', 'fs/nr_open'];

export interface CaptureSummary {
  pid: number;
  netns: string;
  fds: number;
  tables: Record<string, number>;
  sysctls: Record<string, string>;
}

/** Captures pid's tree into `dir` (which must not hold another capture of the same pid). */
export function captureProcTree(pid: number, dir: string, procRoot = '/proc'): CaptureSummary {
  const src = `${procRoot}/${pid}`;
  const dst = join(dir, String(pid));
  for (const sub of ['fd', 'ns', 'net']) mkdirSync(join(dst, sub), { recursive: true });
  for (const file of ['stat', 'cmdline', 'limits', 'cgroup']) writeFileSync(join(dst, file), readFileSync(`${src}/${file}`));

  const names = readdirSync(`${src}/fd`);
  let fds = 0;
  for (const name of names) {
    let target: string;
    try {
      target = readlinkSync(`${src}/fd/${name}`);
    } catch {
      continue; // closed meanwhile
    }
    symlinkSync(target, join(dst, 'fd', name));
    fds++;
    try {
      if (target.endsWith(' (deleted)') && target.startsWith('/') && !target.startsWith('/memfd:')) {
        const st = statSync(`${src}/fd/${name}`);
        mkdirSync(join(dst, 'fdstat'), { recursive: true });
        writeFileSync(join(dst, 'fdstat', name), `${st.size} ${st.blocks}\n`);
      } else if (target === 'anon_inode:inotify') {
        mkdirSync(join(dst, 'fdinfo'), { recursive: true });
        writeFileSync(join(dst, 'fdinfo', name), readFileSync(`${src}/fdinfo/${name}`));
      }
    } catch {
      // closed meanwhile
    }
  }
  const netns = readlinkSync(`${src}/ns/net`);
  symlinkSync(netns, join(dst, 'ns', 'net'));
  const userns = readlinkSync(`${src}/ns/user`);
  symlinkSync(userns, join(dst, 'ns', 'user'));
  const inotifyFiles = ['fs/inotify/max_user_instances', 'fs/inotify/max_user_watches'];
  const userFiles = ['user/max_inotify_instances', 'user/max_inotify_watches'];
  const inUserns = readlinkSync(`${procRoot}/self/ns/user`) === userns
    ? userFiles.map((f) => readFileSync(`/proc/sys/${f}`, 'utf8'))
    : spawnSync('nsenter', [`--user=${src}/ns/user`, 'cat', ...userFiles.map((f) => `/proc/sys/${f}`)], { encoding: 'utf8', timeout: 10_000 }).stdout.split('\n').slice(0, 2);
  for (const [i, f] of [...inotifyFiles, ...userFiles].entries()) {
    mkdirSync(dirname(join(dir, 'sys', f)), { recursive: true });
    writeFileSync(join(dir, 'sys', f), `${(i < 2 ? readFileSync(`/proc/sys/${f}`, 'utf8') : inUserns[i - 2]!).trim()}\n`);
  }

  const tables: Record<string, number> = {};
  for (const table of NET_TABLES) {
    const path = `${src}/net/${table}`;
    if (!existsSync(path)) continue;
    const text = readFileSync(path);
    writeFileSync(join(dst, 'net', table), text);
    tables[table] = text.toString('latin1').split('\n').filter((l) => l.trim() !== '').length - 1;
  }

  // /proc/sys/net shows the namespace of the reader: read the pid's through nsenter when it differs.
  const own = readlinkSync(`${procRoot}/self/ns/net`) === netns;
  const netFiles = NET_SYSCTL_FILES.map((f) => `/proc/sys/${f}`);
  const values = own
    ? netFiles.map((f) => readFileSync(f, 'utf8'))
    : catIn(pid, netFiles);
  const sysctls: Record<string, string> = {};
  NET_SYSCTL_FILES.forEach((f, i) => { sysctls[f] = values[i]!; });
  for (const f of HOST_SYSCTLS) sysctls[f] = readFileSync(`/proc/sys/${f}`, 'utf8');
  for (const [f, value] of Object.entries(sysctls)) {
    mkdirSync(dirname(join(dir, 'sys', f)), { recursive: true });
    writeFileSync(join(dir, 'sys', f), value.endsWith('\n') ? value : `${value}\n`);
  }
  return { pid, netns, fds, tables, sysctls: Object.fromEntries(Object.entries(sysctls).map(([k, v]) => [k, v.trim()])) };
}

/** The contents of single-line files, read inside pid's network namespace. */
function catIn(pid: number, files: string[]): string[] {
  const r = spawnSync('nsenter', [`--net=/proc/${pid}/ns/net`, 'cat', ...files], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw new Error(`nsenter --net=/proc/${pid}/ns/net cat: exit ${r.status}: ${r.stderr}`);
  return r.stdout.split('\n').slice(0, files.length).map((l) => `${l}\n`);
}
