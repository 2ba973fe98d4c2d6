import { z } from 'zod';
import { OriginSchema } from './origin.js';

export const FD_KINDS = ['socket', 'pipe', 'file', 'anon_inode', 'other'] as const;
export const FdKindSchema = z.enum(FD_KINDS);
export type FdKind = z.infer<typeof FdKindSchema>;

/**
 * One open descriptor of a process. `target` is the readlink of /proc/<pid>/fd/<n> ("socket:[123]",
 * "pipe:[45]", "/var/log/x.log", "anon_inode:[eventpoll]") or lsof's NAME column.
 */
export const FdSchema = z.object({
  pid: z.number().int().positive(),
  fd: z.number().int().nonnegative(),
  kind: FdKindSchema,
  /** socket and pipe inode; null for files (their inode is not read). */
  inode: z.string().regex(/^\d+$/).nullable(),
  target: z.string(),
  /** What lsof said about a socket it could not find in /proc/net ("protocol: TCP"). */
  hint: z.string().nullable(),
  origin: OriginSchema,
});
export type Fd = z.infer<typeof FdSchema>;

/** Kind of a /proc/<pid>/fd link target. */
export function fdKindOfTarget(target: string): FdKind {
  if (target.startsWith('socket:[')) return 'socket';
  if (target.startsWith('pipe:[')) return 'pipe';
  if (target.startsWith('anon_inode:')) return 'anon_inode';
  if (target.startsWith('/')) return 'file';
  return 'other';
}

/** "socket:[12345]" -> "12345"; anything else -> null. */
export function inodeOfTarget(target: string): string | null {
  const open = target.indexOf(':[');
  if (open < 0 || !target.endsWith(']')) return null;
  const digits = target.slice(open + 2, -1);
  return /^\d+$/.test(digits) ? digits : null;
}

/** Counts fds by kind, every kind present (0 where none). */
export function countKinds(fds: Iterable<{ kind: FdKind }>): Record<FdKind, number> {
  const counts = Object.fromEntries(FD_KINDS.map((k) => [k, 0])) as Record<FdKind, number>;
  for (const f of fds) counts[f.kind]++;
  return counts;
}
