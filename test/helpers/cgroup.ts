/**
 * Puts a live process into a cgroup laid out as a container manager or systemd would lay it out
 * (/docker/<id>, /system.slice/nginx.service, ...), on the first writable hierarchy of this host
 * (cgroup2, name=systemd, pids), and takes it out again. Root only; `cgroupSupport()` says why not.
 */
import { existsSync, mkdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

const CANDIDATES = ['/sys/fs/cgroup/unified', '/sys/fs/cgroup/systemd', '/sys/fs/cgroup', '/sys/fs/cgroup/pids'];

let root: { ok: true; dir: string } | { ok: false; reason: string } | undefined;

/** The hierarchy tests use, or why there is none. */
export function cgroupSupport(): { ok: true; dir: string } | { ok: false; reason: string } {
  if (root !== undefined) return root;
  for (const dir of CANDIDATES) {
    if (!existsSync(`${dir}/cgroup.procs`)) continue;
    const probe = `${dir}/fdleak-probe-${process.pid}`;
    try {
      mkdirSync(probe);
      rmdirSync(probe);
      return (root = { ok: true, dir });
    } catch (error) {
      root = { ok: false, reason: `cannot create a cgroup under ${dir}: ${(error as Error).message}` };
    }
  }
  return (root ??= { ok: false, reason: 'no cgroup hierarchy mounted under /sys/fs/cgroup' });
}

/** Moves `pid` into `path` (created); the returned function moves it back to the root and removes what was made. */
export function moveIntoCgroup(pid: number, path: string): () => void {
  const s = cgroupSupport();
  if (!s.ok) throw new Error(s.reason);
  const full = `${s.dir}${path}`;
  mkdirSync(full, { recursive: true });
  writeFileSync(`${full}/cgroup.procs`, String(pid));
  return () => {
    try { writeFileSync(`${s.dir}/cgroup.procs`, String(pid)); } catch { /* gone already */ }
    for (let d = full; d !== s.dir && d.startsWith(`${s.dir}/`); d = dirname(d)) {
      try { rmdirSync(d); } catch { break; }
    }
  };
}
