/**
 * Captured text -> one snapshot: `fdleak analyze` streams each input in chunks through the
 * parser of its format, and merges every input into one snapshot, so that an lsof and an ss
 * capture taken at the same moment are judged together (orphans = socket fds in lsof with no row).
 *
 * Memory stays bounded on large captures: only socket fds are kept as records; other fds are
 * counted per process and kind.
 */
import { InputError } from '../errors.js';
import type { Fd, FdKind } from '../model/fd.js';
import { FD_KINDS } from '../model/fd.js';
import type { Process } from '../model/process.js';
import type { Snapshot } from '../model/snapshot.js';
import { buildSnapshot, UNKNOWN_SYSCTLS } from '../model/snapshot.js';
import type { Owner, Socket } from '../model/socket.js';
import { isWildcard } from '../model/queries.js';
import { formatEndpoint } from '../util/format.js';
import { LineSink } from '../util/skips.js';
import type { SkippedLine } from '../util/skips.js';
import type { Format } from './detect-format.js';
import { detectFormat } from './detect-format.js';
import { CAPTURE_PARSERS } from './parsers.js';
import type { Parsed, Shared } from './parsers.js';
import type { LineStream } from './text-input.js';
import { detach } from './text-input.js';

export interface InputSummary {
  source: string;
  format: Format;
  lines: number;
  records: number;
  skipped: number;
}

export interface CaptureResult {
  snapshot: Snapshot;
  inputs: InputSummary[];
  /** The first skipped lines of all inputs (for the report), at most 20. */
  skippedLines: SkippedLine[];
}

/** Share of lines that may be skipped before the input is called unreadable. */
const MAX_SKIPPED_SHARE = 0.2;
const MIN_SKIPPED_TO_FAIL = 10;

/** Reads every input and builds the merged snapshot. */
export async function analyzeCapture(streams: LineStream[], forced: Format | undefined, takenAt: string): Promise<CaptureResult> {
  const builder = new CaptureBuilder();
  const shared: Shared = { listed: new Map(), inputs: 0 };
  const inputs: InputSummary[] = [];
  const skippedLines: SkippedLine[] = [];
  for (const stream of streams) {
    const format = detectFormat(stream.head, stream.source, forced);
    const sink = new LineSink(false);
    const reader = CAPTURE_PARSERS[format].open(stream.head, stream.source, sink, shared);
    let records = 0;
    for await (const chunks of stream.chunks()) {
      const before = sink.skipped.length;
      for (const chunk of chunks) records += builder.add(reader.read(chunk));
      for (let i = before; i < sink.skipped.length; i++) sink.skipped[i]!.text = detach(sink.skipped[i]!.text); // not the chunk
    }
    records += builder.add(reader.end());
    const meaningful = stream.lines - stream.overlong.length;
    for (const l of stream.overlong) sink.bad(`line longer than ${64} KiB, skipped`, stream.source, l.no, l.text);
    const summary = { source: stream.source, format, lines: stream.lines, records, skipped: sink.count };
    if (records === 0 && sink.count > 0) {
      const first = sink.skipped[0]!;
      throw new InputError(`no ${format} records could be read: ${first.reason}`, { source: first.source, line: first.line, text: first.text });
    }
    if (sink.count >= MIN_SKIPPED_TO_FAIL && sink.count > meaningful * MAX_SKIPPED_SHARE) {
      const first = sink.skipped[0]!;
      throw new InputError(
        `${sink.count} of ${meaningful} lines are not ${format} output (mixed or damaged input?); first: ${first.reason}`,
        { source: first.source, line: first.line, text: first.text },
      );
    }
    inputs.push(summary);
    skippedLines.push(...sink.skipped.slice(0, 20 - skippedLines.length));
    builder.formats.add(format);
  }
  return { snapshot: builder.build(takenAt, inputs), inputs, skippedLines };
}

interface ProcessAcc {
  pid: number;
  command: string;
  kinds: Record<FdKind, number>;
  fromFdTable: boolean;
  complete: boolean;
  /** Targets held by several fds, summed over inputs (lsof tallies them: parse/lsof/lsof.ts). */
  targets: Map<string, { target: string; kind: FdKind; count: number }> | null;
}

/** Accumulates parsed chunks; merges sockets across inputs at build(). */
class CaptureBuilder {
  readonly formats = new Set<Format>();
  private readonly processes = new Map<number, ProcessAcc>();
  private readonly socketFds: SocketFds = new Map();
  private readonly sockets: Socket[] = [];

  /** Adds a chunk's records (fds arrive counted once: the readers share what was listed); returns how many. */
  add(parsed: Parsed): number {
    for (const p of parsed.processes) {
      const acc = this.process(p.pid, p.command);
      if (p.fdTableComplete === false) acc.complete = false;
      if (p.fdKinds !== undefined) {
        for (const kind of FD_KINDS) {
          const n = p.fdKinds[kind];
          acc.kinds[kind] += n;
          if (n > 0) acc.fromFdTable = true;
        }
      }
      for (const t of p.repeatedTargets ?? []) {
        const targets = (acc.targets ??= new Map());
        const seen = targets.get(t.target);
        if (seen === undefined) targets.set(t.target, { ...t });
        else seen.count += t.count;
      }
    }
    for (const fd of parsed.fds) {
      this.process(fd.pid, null).fromFdTable = true;
      let fds = this.socketFds.get(fd.pid);
      if (fds === undefined) this.socketFds.set(fd.pid, (fds = new Map()));
      fds.set(fd.fd, fd);
    }
    for (const s of parsed.sockets) {
      this.sockets.push(s);
      for (const o of s.owners) this.process(o.pid, o.command);
    }
    return parsed.records;
  }

  private process(pid: number, command: string | null): ProcessAcc {
    let acc = this.processes.get(pid);
    if (acc === undefined) {
      acc = { pid, command: command ?? '?', kinds: { socket: 0, pipe: 0, file: 0, anon_inode: 0, other: 0 }, fromFdTable: false, complete: true, targets: null };
      this.processes.set(pid, acc);
    } else if (acc.command === '?' && command !== null) {
      acc.command = command;
    }
    return acc;
  }

  build(takenAt: string, inputs: InputSummary[]): Snapshot {
    const sockets = mergeSockets(this.sockets, this.socketFds);
    const owned = new Map<number, number>();
    for (const s of sockets) for (const o of s.owners) owned.set(o.pid, (owned.get(o.pid) ?? 0) + 1);
    const processes: Process[] = [...this.processes.values()]
      .sort((a, b) => a.pid - b.pid)
      .map((p) => {
        const fdCount = p.fromFdTable ? Object.values(p.kinds).reduce((a, b) => a + b, 0) : (owned.get(p.pid) ?? 0);
        return {
          pid: p.pid, command: p.command, cmdline: null, uid: null, startTime: null,
          fdCount,
          fdTableComplete: p.fromFdTable && p.complete,
          fdLimit: null, netns: null, threads: null,
          fdKinds: p.fromFdTable ? p.kinds : null,
          ...(p.targets === null ? {} : { repeatedTargets: [...p.targets.values()].sort((a, b) => b.count - a.count || (a.target < b.target ? -1 : a.target > b.target ? 1 : 0)) }),
        };
      });
    const hasFdTables = this.formats.has('lsof') || this.formats.has('lsof-F');
    const ownerless = sockets.some((s) => s.inode === '0' || (s.owners.length === 0 && s.state !== null && s.state !== 'LISTEN'));
    const listing = this.formats.has('ss') || this.formats.has('netstat') || this.formats.has('proc-net');
    const warnings = inputs.filter((i) => i.skipped > 0).map((i) => `${i.source}: ${i.skipped} of ${i.lines} lines could not be read and were skipped`);
    return buildSnapshot({
      takenAt,
      kind: 'capture',
      processes,
      fds: [...this.socketFds.values()].flatMap((fds) => [...fds.values()]).sort((a, b) => a.pid - b.pid || a.fd - b.fd),
      sockets,
      namespaces: [{ id: null, tables: [...this.formats], sysctls: UNKNOWN_SYSCTLS, backlogKnown: sockets.some((s) => s.backlog !== null) }],
      host: { fileNr: null, nrOpen: null },
      coverage: {
        fdTables: hasFdTables,
        socketTables: sockets.length > 0 || listing,
        netnsAware: false,
        limits: false,
        sysctls: false,
        // ss/netstat listings with -a, and /proc/net, show rows no fd owns (TIME_WAIT, unaccepted).
        ownerlessRows: listing && (ownerless || this.formats.has('proc-net')),
      },
      warnings,
    });
  }
}

/** Socket fds by pid and fd number. */
export type SocketFds = Map<number, Map<number, Fd>>;

/**
 * One row per socket across inputs: by inode where known (lsof DEVICE, ss ino:, /proc inode), else
 * by an owner's fd resolved through the lsof fd table, else by protocol, state and both endpoints.
 */
export function mergeSockets(rows: Socket[], socketFds: SocketFds): Socket[] {
  const byInode = new Map<string | number, Socket>();
  // An inode keyed as the number it is (cheaper to hash), unless its text is not the number's own.
  const inodeKey = (inode: string): string | number => (inode.length < 16 && (inode.length === 1 || inode.charCodeAt(0) !== 48) && /^\d+$/.test(inode) ? Number(inode) : inode);
  const byTuple = new Map<string, Socket[]>();
  const matched = new Map<Socket, Set<string>>(); // sources already merged into a row
  const out: Socket[] = [];
  // /proc/net gives a listener the remote 0.0.0.0:0 where ss and lsof give none: the same thing.
  const remoteOf = (r: Socket): string => (r.remote === null || (r.remote.port === 0 && isWildcard(r.remote.address)) ? '-' : formatEndpoint(r.remote));
  const tupleOf = (r: Socket): string => `${r.proto}|${r.state ?? r.detail}|${formatEndpoint(r.local)}|${remoteOf(r)}`;
  // A row with the same tuple from ANOTHER input, not yet matched by this input.
  const tupled = (r: Socket): boolean => r.family === 'inet' || r.family === 'inet6';
  const partner = (row: Socket, wantInode: boolean): Socket | undefined =>
    !tupled(row) ? undefined : byTuple.get(tupleOf(row))?.find((r) => r.origin.source !== row.origin.source && !matched.get(r)?.has(row.origin.source) && (!wantInode || r.inode === null));
  // Rows of one input are merged by inode only: a partner by tuple comes from another input.
  const sources = new Set<string>();
  for (const row of rows) sources.add(row.origin.source);
  const byTuples = sources.size > 1;
  for (const row of rows) {
    if (row.inode === null) {
      for (const o of row.owners) {
        const fd = o.fd === null ? undefined : socketFds.get(o.pid)?.get(o.fd);
        if (fd?.inode) { row.inode = fd.inode; break; }
      }
    }
    const inode = row.inode !== null && row.inode !== '0' ? inodeKey(row.inode) : null;
    const existing = (inode === null ? undefined : byInode.get(inode)) ?? (byTuples ? partner(row, inode !== null) : undefined);
    if (existing !== undefined) {
      mergeInto(existing, row);
      if (inode !== null) byInode.set(inode, existing);
      const set = matched.get(existing) ?? new Set<string>();
      set.add(row.origin.source);
      matched.set(existing, set);
      continue;
    }
    if (inode !== null) byInode.set(inode, row);
    out.push(row);
    if (!byTuples || !tupled(row)) continue;
    const t = tupleOf(row);
    const list = byTuple.get(t);
    if (list === undefined) byTuple.set(t, [row]);
    else list.push(row);
  }
  return out;
}

function mergeInto(into: Socket, from: Socket): void {
  into.state ??= from.state;
  into.detail ??= from.detail;
  into.local ??= from.local;
  into.remote ??= from.remote;
  into.rxQueue ??= from.rxQueue;
  into.txQueue ??= from.txQueue;
  into.backlog ??= from.backlog;
  into.uid ??= from.uid;
  if (into.inode === null || into.inode === '0') into.inode = from.inode ?? into.inode;
  const seen = new Set(into.owners.map((o) => `${o.pid}:${o.fd ?? ''}`));
  for (const o of from.owners) {
    const k = `${o.pid}:${o.fd ?? ''}`;
    if (seen.has(k)) continue;
    // An owner without fd (netstat) adds nothing if the pid is already known with an fd.
    if (o.fd === null && into.owners.some((x) => x.pid === o.pid)) continue;
    into.owners = into.owners.filter((x: Owner) => !(x.pid === o.pid && x.fd === null));
    into.owners.push(o);
    seen.add(k);
  }
}
