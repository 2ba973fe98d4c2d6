import { z } from './zod.js';
import { InputError } from '../errors.js';
import { fdAsIs, processAsIs, socketAsIs } from './as-is.js';
import { FdSchema } from './fd.js';
import { ProcessSchema } from './process.js';
import { SeriesSchema } from './sample.js';
import { SocketSchema } from './socket.js';

/** Per-network-namespace sysctls (read through that namespace); null where unknown. */
export const NetSysctlsSchema = z.object({
  ipLocalPortRange: z.nullable(z.tuple([z.number().check(z.int()), z.number().check(z.int())])),
  tcpFinTimeout: z.nullable(z.number().check(z.int())),
  tcpTwReuse: z.nullable(z.number().check(z.int())),
  tcpMaxTwBuckets: z.nullable(z.number().check(z.int())),
  somaxconn: z.nullable(z.number().check(z.int())),
});
export type NetSysctls = z.infer<typeof NetSysctlsSchema>;

/** A network namespace whose tables the snapshot holds. */
export const NetnsSchema = z.object({
  /** "net:[4026531840]", or null when the source cannot tell (captured text). */
  id: z.nullable(z.string()),
  /** Which tables were read: "tcp", "tcp6", "udp", "unix", ... ; a rule judges only what was read. */
  tables: z.array(z.string()),
  sysctls: NetSysctlsSchema,
  /** Whether LISTEN rows carry the backlog limit (ss -l was read). */
  backlogKnown: z.boolean(),
});
export type Netns = z.infer<typeof NetnsSchema>;

export const HostSchema = z.object({
  /** /proc/sys/fs/file-nr: allocated handles and file-max. */
  fileNr: z.nullable(z.object({ allocated: z.number().check(z.int()), max: z.number().check(z.int()) })),
  nrOpen: z.nullable(z.number().check(z.int())),
  /** max_user_instances / max_user_watches in force for the process's user namespace (live only). */
  inotify: z.optional(z.nullable(z.object({ maxUserInstances: z.number().check(z.int()), maxUserWatches: z.number().check(z.int()), source: z.string() }))),
});

/**
 * What the data can support. A rule lists what it needs; when the snapshot lacks it the rule is
 * skipped and the report says why.
 */
export const CoverageSchema = z.object({
  /** The fd table of each process (live /proc, lsof): needed to find orphan sockets. */
  fdTables: z.boolean(),
  /** Socket tables with states (/proc/net, ss, netstat, lsof's TCP rows). */
  socketTables: z.boolean(),
  /** Tables are those of each process's own network namespace. */
  netnsAware: z.boolean(),
  /** RLIMIT_NOFILE of each process. */
  limits: z.boolean(),
  /** ip_local_port_range and friends. */
  sysctls: z.boolean(),
  /** Rows with no owning fd (TIME_WAIT, orphaned FIN_WAIT2, unaccepted children) are present. */
  ownerlessRows: z.boolean(),
});
export type Coverage = z.infer<typeof CoverageSchema>;

export const SnapshotSchema = z.object({
  schema: z.literal('fdleak/snapshot@1'),
  takenAt: z.string(),
  kind: z.enum(['live', 'capture']),
  processes: z.array(ProcessSchema),
  fds: z.array(FdSchema),
  sockets: z.array(SocketSchema),
  namespaces: z.array(NetnsSchema),
  host: HostSchema,
  coverage: CoverageSchema,
  warnings: z.array(z.string()),
  /**
   * Samples of processes over time (`watch`, `diagnose --sample`, `diff`), for the fd-growth rule.
   * Absent from a snapshot of one moment, and from snapshot files.
   */
  series: z.optional(z.array(SeriesSchema)),
});
export type Snapshot = z.infer<typeof SnapshotSchema>;
export type SnapshotInput = Omit<Snapshot, 'schema'>;

/**
 * FdSchema and SocketSchema compiled (z.compile), each on the first record that needs it (one that
 * as-is.ts cannot pass as it is): one function specialised to the shape, the same checks and the
 * same output, about 4x faster than the generic parser (measured on a 15,000-fd snapshot: the generic
 * one walks every field of every record through a schema object). Input that fails is parsed again by
 * the generic parser, so the issues and their paths are exactly its own. The rest of a snapshot
 * (processes, namespaces, host: a few records) goes to the generic parser: compiling
 * SnapshotSchema cost 10-19 ms of a live diagnose, its generic parse 0.4-2 ms.
 */
const compiled: { fd?: typeof FdSchema; socket?: typeof SocketSchema } = {};

/**
 * The only place that validates: collectors and parsers build plain objects, this checks them once.
 * A failure becomes an InputError at the failing record's origin (zod's raw message is never shown).
 * fds and sockets are checked record by record; the first failure is the one a check of the whole
 * would report (processes, then fds, then sockets, then the rest). `inPlace`: each record is
 * replaced in `input`'s own arrays by its checked copy, which the snapshot then holds, so that a
 * caller that keeps no other reference never holds a million-row capture twice (analyze: memory).
 * fdleak's own live reader assembles its snapshot without this check: live-snapshot.ts.
 */
export function buildSnapshot(input: SnapshotInput, { inPlace = false } = {}): Snapshot {
  const candidate = { schema: 'fdleak/snapshot@1' as const, ...input };
  // processes zod would give back unchanged (as-is.ts) are kept, not parsed (a big capture names thousands)
  const processes = Array.isArray(candidate.processes) && candidate.processes.every(processAsIs) ? candidate.processes : null;
  const rest = SnapshotSchema.safeParse({ ...candidate, ...(processes === null ? {} : { processes: [] }), fds: [], sockets: [] });
  const restIssue = rest.success ? undefined : rest.error.issues[0]!;
  const before = restIssue !== undefined && (typeof restIssue.path[0] !== 'string' || ['schema', 'takenAt', 'kind', 'processes'].includes(restIssue.path[0]));
  if (before) fail(candidate, restIssue.path, restIssue.message);
  const fds = checkRecords(candidate, 'fds', () => (compiled.fd ??= z.compile(FdSchema)), fdAsIs, inPlace);
  const sockets = checkRecords(candidate, 'sockets', () => (compiled.socket ??= z.compile(SocketSchema)), socketAsIs, inPlace);
  if (!rest.success) fail(candidate, restIssue!.path, restIssue!.message);
  return { ...rest.data, ...(processes === null ? {} : { processes: inPlace ? processes : [...processes] }), fds, sockets } as Snapshot;
}

/**
 * The checked copies of `candidate[key]` (in its own array with `inPlace`); throws at the first that
 * fails. A record zod would return unchanged (`asIs`, as-is.ts) is kept as it is, not copied.
 */
function checkRecords<S extends typeof FdSchema | typeof SocketSchema>(
  candidate: SnapshotInput,
  key: 'fds' | 'sockets',
  schema: () => S,
  asIs: (record: unknown) => boolean,
  inPlace: boolean,
): Array<z.infer<S>> {
  const records = candidate[key] as unknown[];
  const out = inPlace ? records : new Array<unknown>(records.length);
  for (let i = 0; i < records.length; i++) { // indexed: once over every record, cold
    if (asIs(records[i])) {
      out[i] = records[i];
      continue;
    }
    const result = schema().safeParse(records[i]);
    if (!result.success) {
      const issue = result.error.issues[0]!;
      fail(candidate, [key, i, ...issue.path], issue.message);
    }
    out[i] = result.data;
  }
  return out as Array<z.infer<S>>;
}

function fail(candidate: SnapshotInput, path: readonly PropertyKey[], message: string): never {
  const [collection, index] = path;
  const record =
    typeof collection === 'string' && typeof index === 'number'
      ? (candidate as unknown as Record<string, unknown[]>)[collection]?.[index]
      : undefined;
  const origin = (record as { origin?: { source: string; line: number } } | undefined)?.origin;
  const field = path.slice(2).join('.') || path.join('.');
  throw new InputError(`invalid ${field}: ${message.toLowerCase()}`, {
    source: origin?.source ?? 'snapshot',
    ...(origin !== undefined && origin.line > 0 ? { line: origin.line } : {}),
  });
}

/** Sysctls nobody read. */
export const UNKNOWN_SYSCTLS: NetSysctls = {
  ipLocalPortRange: null, tcpFinTimeout: null, tcpTwReuse: null, tcpMaxTwBuckets: null, somaxconn: null,
};
