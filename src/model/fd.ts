import { z } from './zod.js';
import { OriginSchema } from './origin.js';

export const FD_KINDS = ['socket', 'pipe', 'file', 'anon_inode', 'other'] as const;
export const FdKindSchema = z.enum(FD_KINDS);
export type FdKind = z.infer<typeof FdKindSchema>;

/**
 * One open descriptor of a process. `target` is the readlink of /proc/<pid>/fd/<n> ("socket:[123]",
 * "pipe:[45]", "/var/log/x.log", "anon_inode:[eventpoll]") or lsof's NAME column.
 */
export const FdSchema = z.object({
  pid: z.number().check(z.int(), z.positive()),
  fd: z.number().check(z.int(), z.nonnegative()),
  kind: FdKindSchema,
  /** socket and pipe inode; null for files (their inode is not read). */
  inode: z.nullable(z.string().check(z.regex(/^\d+$/))),
  target: z.string(),
  /** What lsof said about a socket it could not find in /proc/net ("protocol: TCP"). */
  hint: z.nullable(z.string()),
  origin: OriginSchema,
  // Filled by live/fd-details.ts (deleted files, anon inodes) and lsof rows of deleted files; absent elsewhere.
  /** The file was unlinked while held open (link target or lsof NAME ends in " (deleted)"). */
  deleted: z.optional(z.boolean()),
  /** st_size of the open file (stat through /proc/<pid>/fd/N, or lsof SIZE/OFF); null if unknown. */
  size: z.optional(z.nullable(z.number().check(z.int(), z.nonnegative()))),
  /** st_blocks * 512: what the file still takes on disk; null if unknown (lsof gives no blocks). */
  diskBytes: z.optional(z.nullable(z.number().check(z.int(), z.nonnegative()))),
  /** anon_inode type: "eventpoll", "inotify", "bpf-map", ... */
  anonType: z.optional(z.string()),
  /** inotify watches of this instance ("inotify wd:" lines of /proc/<pid>/fdinfo/N). */
  inotifyWatches: z.optional(z.nullable(z.number().check(z.int(), z.nonnegative()))),
});
export type Fd = z.infer<typeof FdSchema>;

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

