/**
 * The kinds of fd and what is counted by them: without zod (fd.ts holds the schemas), so that
 * `fdleak diagnose --json`, which validates nothing at run time (live/diagnose.ts), loads no zod:
 * measured on the loaded 2-core box, loading the zod chunk cost 23-40 ms of a 43-116 ms load of
 * the diagnose modules.
 */
import type { Fd } from './fd.js';

export const FD_KINDS = ['socket', 'pipe', 'file', 'anon_inode', 'other'] as const;
export type FdKind = (typeof FD_KINDS)[number];

/** Counts fds by kind, every kind present (0 where none). */
export function countKinds(fds: ArrayLike<{ kind: FdKind }>): Record<FdKind, number> {
  const counts = Object.fromEntries(FD_KINDS.map((k) => [k, 0])) as Record<FdKind, number>;
  for (let i = 0; i < fds.length; i++) counts[fds[i]!.kind]++; // indexed: runs cold over 15,000 fds
  return counts;
}

/** "anon_inode:[eventpoll]" -> "eventpoll", "anon_inode:inotify" -> "inotify"; null for other targets. */
export function anonTypeOf(target: string): string | null {
  if (!target.startsWith('anon_inode:')) return null;
  const t = target.slice('anon_inode:'.length);
  return t.startsWith('[') && t.endsWith(']') ? t.slice(1, -1) : t;
}

/** Pure: anon_inode fds by type, most first (then by name). */
export function countAnonTypes(fds: ReadonlyArray<Pick<Fd, 'kind' | 'target' | 'anonType'>>): Record<string, number> {
  const counts = new Map<string, number>();
  for (const f of fds) {
    if (f.kind !== 'anon_inode') continue;
    const t = f.anonType ?? anonTypeOf(f.target) ?? f.target;
    counts.set(t, (counts.get(t) ?? 0) + 1);
  }
  return Object.fromEntries([...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)));
}
