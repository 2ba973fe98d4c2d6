/**
 * What `fdleak scan` produces: one record per process (who it is, and the counts scan gathers for
 * it) and one per network namespace whose tables were read. Plain data: no timings (live/scan.ts
 * returns those beside it), no terminal text.
 *
 * The scan builds these as plain objects and does not validate them at run time (zod is not loaded
 * on scan's path: it costs start-up time on every cron run); the tests check every live and
 * fixture scan against these schemas, and the types below are the schemas' own.
 */
import { z } from './zod.js';
import { LocationSchema } from './location.js';
import { LimitValueSchema } from './process.js';
import { TcpStateSchema } from './socket.js';

const int = () => z.number().check(z.int());
const count = () => z.number().check(z.int(), z.nonnegative());

/** One process as scan sees it: identity (pid + start time), its limit and namespace, and its counts. */
const ProcessStatsSchema = z.object({
  pid: z.number().check(z.int(), z.positive()),
  /** Kernel comm (up to 15 bytes) decoded as UTF-8, invalid bytes shown as `\xNN`; not escaped for output. */
  command: z.string(),
  /** stat field 3: "Z" for a zombie (no fds until reaped). */
  state: z.string(),
  /** stat field 22: with pid, identifies the process across pid reuse. */
  startTime: z.nullable(count()),
  /**
   * Open fds: entries of /proc/<pid>/fd, or its st_size where the links cannot be read; null when
   * neither is possible (another user's process on a kernel before 6.2, whose st_size is 0).
   */
  fds: z.nullable(count()),
  /** Socket fds; null when the links could not be read. */
  sockets: z.nullable(count()),
  /** Socket fds in no table of the process's network namespace (model/queries.ts isOrphanSocket); null when unknown. */
  orphanSockets: z.nullable(count()),
  fdLimit: z.nullable(z.object({ soft: LimitValueSchema, hard: LimitValueSchema })),
  /** fds / soft limit (can exceed 1 after the limit was lowered); null when unlimited or unknown. */
  limitUsed: z.nullable(z.number().check(z.nonnegative())),
  netns: z.nullable(z.string()),
  /** Why sockets or orphans are unknown: its fd links were refused, or its namespace's tables could not be read. */
  unseen: z.nullable(z.enum(['permission', 'netns'])),
  /** Where it lives (container, pod, systemd unit) from /proc/<pid>/cgroup; null at the root or unreadable. */
  location: z.nullable(LocationSchema),
});
export type ProcessStats = z.infer<typeof ProcessStatsSchema>;

/** A network namespace whose tables scan read (or tried to). */
const NetnsSummarySchema = z.object({
  id: z.string(),
  processes: count(),
  /** The pid whose /proc/<pid>/net was read ("self": fdleak's own); null if every member exited first. */
  readVia: z.nullable(z.union([z.number().check(z.int(), z.positive()), z.literal('self')])),
  /** TCP rows by state (tcp + tcp6), kernel names. */
  tcpByState: z.partialRecord(TcpStateSchema, count()),
  /** Rows per table family: tcp, udp, udplite, raw, icmp, unix, netlink, packet. */
  rows: z.record(z.string(), count()),
  timeWait: z.object({
    count: count(),
    /** net.ipv4.ip_local_port_range of THIS namespace; null where it could not be read. */
    portRange: z.nullable(z.tuple([int(), int()])),
    /** Client-side TIME_WAIT towards the busiest remote endpoint: the pool one destination draws from. */
    busiestPeer: z.nullable(z.object({ endpoint: z.string(), count: count() })),
  }),
});
export type NetnsSummary = z.infer<typeof NetnsSummarySchema>;

/** Why the kernel refused fd links to fdleak, from what fdleak can check about itself and the refused process. */
const AccessSchema = z.object({
  /** fdleak ran as uid 0. */
  root: z.boolean(),
  /** CAP_SYS_PTRACE is in fdleak's effective set (it lets root read any process's fds in its user namespace). */
  ptrace: z.nullable(z.boolean()),
  /** fdleak runs in a user namespace other than the initial one (uid_map is not "0 0 4294967295"). */
  nestedUserns: z.nullable(z.boolean()),
  /** Capabilities the first refused process holds (permitted set) that fdleak lacks, e.g. ["cap_sys_resource"]. */
  missingCaps: z.array(z.string()),
});
export type Access = z.infer<typeof AccessSchema>;

export const ScanSnapshotSchema = z.object({
  schema: z.literal('fdleak/scan-snapshot@1'),
  takenAt: z.string(),
  processes: z.array(ProcessStatsSchema),
  skipped: z.object({ permission: count(), vanished: count() }),
  /** Who was skipped (permission: most fds first; they are still listed, with their fd count). */
  skippedProcesses: z.object({
    permission: z.array(z.object({ pid: z.number().check(z.int(), z.positive()), command: z.string() })),
    vanished: z.array(z.number().check(z.int(), z.positive())),
  }),
  host: z.object({
    processes: count(),
    fds: count(),
    /** fs/file-nr: file handles allocated and file-max. */
    fileNr: z.nullable(z.object({ allocated: count(), max: count() })),
    nrOpen: z.nullable(count()),
    namespaces: z.array(NetnsSummarySchema),
  }),
  /** Set when some process's fd links were refused: what fdleak could find out about why. */
  access: z.nullable(AccessSchema),
  warnings: z.array(z.string()),
});
export type ScanSnapshot = z.infer<typeof ScanSnapshotSchema>;

/** The keys of --sort (model/queries.ts scanSortKey ranks by them; growth needs --sample). */
export type ScanSort = 'fds' | 'sockets' | 'orphans' | 'headroom' | 'growth';
