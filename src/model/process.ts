import { z } from './zod.js';
import { FdKindSchema } from './fd.js';
import { LocationSchema } from './location.js';

/** A soft or hard limit; "unlimited" is RLIM_INFINITY. */
export const LimitValueSchema = z.union([z.number().check(z.int(), z.nonnegative()), z.literal('unlimited')]);
export type LimitValue = z.infer<typeof LimitValueSchema>;

export const ProcessSchema = z.object({
  pid: z.number().check(z.int(), z.positive()),
  /** Kernel comm (15 chars) or what the capture named it. */
  command: z.string(),
  cmdline: z.nullable(z.string()),
  uid: z.nullable(z.number().check(z.int(), z.nonnegative())),
  /** Field 22 of /proc/<pid>/stat: with pid, identifies the process across pid reuse. */
  startTime: z.nullable(z.number().check(z.int(), z.nonnegative())),
  /** Open fds: from the fd table when it was read, else st_size of /proc/<pid>/fd, else the capture's rows. */
  fdCount: z.number().check(z.int(), z.nonnegative()),
  /** Whether every fd's target is in the snapshot (false: permission denied, or a capture without fds). */
  fdTableComplete: z.boolean(),
  fdLimit: z.nullable(z.object({ soft: LimitValueSchema, hard: LimitValueSchema })),
  netns: z.nullable(z.string()),
  threads: z.nullable(z.number().check(z.int(), z.positive())),
  /**
   * Open fds by kind. Live snapshots hold every fd record too; captures keep only socket fd
   * records (memory stays bounded on a million-line lsof capture) and count the rest here.
   */
  fdKinds: z.nullable(z.record(FdKindSchema, z.number().check(z.int(), z.nonnegative()))),
  /** Where the process lives (container, pod, systemd unit), from /proc/<pid>/cgroup (parse/cgroup.ts). */
  location: z.optional(z.nullable(LocationSchema)),
  /**
   * Targets held by more than one fd, most first (captures only: they keep no record of file fds);
   * live snapshots hold every fd and leave this out.
   */
  repeatedTargets: z.optional(z.array(z.object({ target: z.string(), kind: FdKindSchema, count: z.number().check(z.int(), z.positive()) }))),
  /** inotify use of the process's user, summed over its processes (live/fd-details.ts); null if not read. */
  inotifyUser: z.optional(z.nullable(z.object({
    uid: z.number().check(z.int(), z.nonnegative()),
    instances: z.number().check(z.int(), z.nonnegative()),
    watches: z.number().check(z.int(), z.nonnegative()),
    processes: z.number().check(z.int(), z.nonnegative()),
  }))),
});
export type Process = z.infer<typeof ProcessSchema>;
