import { z } from 'zod';
import { FdKindSchema } from './fd.js';

/** A soft or hard limit; "unlimited" is RLIM_INFINITY. */
export const LimitValueSchema = z.union([z.number().int().nonnegative(), z.literal('unlimited')]);
export type LimitValue = z.infer<typeof LimitValueSchema>;

export const ProcessSchema = z.object({
  pid: z.number().int().positive(),
  /** Kernel comm (15 chars) or what the capture named it. */
  command: z.string(),
  cmdline: z.string().nullable(),
  uid: z.number().int().nonnegative().nullable(),
  /** Field 22 of /proc/<pid>/stat: with pid, identifies the process across pid reuse. */
  startTime: z.number().int().nonnegative().nullable(),
  /** Open fds: from the fd table when it was read, else st_size of /proc/<pid>/fd, else the capture's rows. */
  fdCount: z.number().int().nonnegative(),
  /** Whether every fd's target is in the snapshot (false: permission denied, or a capture without fds). */
  fdTableComplete: z.boolean(),
  fdLimit: z.object({ soft: LimitValueSchema, hard: LimitValueSchema }).nullable(),
  netns: z.string().nullable(),
  threads: z.number().int().positive().nullable(),
  /**
   * Open fds by kind. Live snapshots hold every fd record too; captures keep only socket fd
   * records (memory stays bounded on a million-line lsof capture) and count the rest here.
   */
  fdKinds: z.record(FdKindSchema, z.number().int().nonnegative()).nullable(),
});
export type Process = z.infer<typeof ProcessSchema>;
