import { z } from './zod.js';
import { FD_KINDS } from './fd-kinds.js';
import { OriginSchema } from './origin.js';

// The kinds and their counts are in fd-kinds.ts (no zod there: diagnose --json loads no zod).
export { FD_KINDS };
export type { FdKind } from './fd-kinds.js';
export const FdKindSchema = z.enum(FD_KINDS);

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
