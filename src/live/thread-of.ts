/**
 * /proc/<tid> exists for every thread, not only for processes (it is just not listed by readdir):
 * `fdleak diagnose <tid>` of a thread must report its process (the fd table is the process's) and
 * name the thread it was asked about. The process is the Tgid line of /proc/<tid>/status.
 */
import { readFileSync } from 'node:fs';
import { utf8Escaped } from '../util/safe-text.js';

/** The process of thread `tid` and the thread's name; undefined when `tid` is a process (or gone). */
export function threadOf(procRoot: string, tid: number): { tgid: number; name: string | null } | undefined {
  let status: string;
  try {
    status = readFileSync(`${procRoot}/${tid}/status`, 'latin1');
  } catch {
    return undefined; // gone or unreadable: collectLiveProcess says which
  }
  const m = /^Tgid:\s*(\d+)$/m.exec(status);
  const tgid = m === null ? tid : Number(m[1]);
  if (tgid === tid || tgid <= 0) return undefined;
  let name: string | null = null;
  try {
    name = utf8Escaped(readFileSync(`${procRoot}/${tid}/comm`)).replace(/\n$/, '');
  } catch {
    // the thread ended meanwhile: its process is still what was asked about
  }
  return { tgid, name };
}
