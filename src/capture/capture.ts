/**
 * Captured text -> one snapshot: `fdleak analyze` streams each input in chunks through the
 * parser of its format, and merges every input into one snapshot, so that an lsof and an ss
 * capture taken at the same moment are judged together (orphans = socket fds in lsof with no row).
 *
 * Memory stays bounded on large captures: other fds than sockets are counted per process and kind,
 * and one lsof capture past FOLD_AFTER sockets folds its socket rows as they stream (fold.ts), from
 * its first row when a worker reads its second half;
 * several inputs keep their socket rows as records to merge them (merge.ts), up to a cap. A large
 * lsof file's second half may be read by a worker meanwhile (tail.ts; CaptureBuilder.absorbTail).
 *
 * Over 400 lines: the read loop, the parts of a stream and the builder they feed share the
 * builder's private state (absorbTail adds the worker's part to it as the loop would have).
 */
import { InputError } from '../errors.js';
import type { Fd, FdKind } from '../model/fd.js';
import { FD_KINDS } from '../model/fd.js';
import type { Process } from '../model/process.js';
import type { NetSysctls, Snapshot } from '../model/snapshot.js';
import { buildSnapshot, UNKNOWN_SYSCTLS } from '../model/snapshot.js';
import type { Socket, TcpState } from '../model/socket.js';
import { LineSink } from '../util/skips.js';
import type { SkippedLine } from '../util/skips.js';
import type { Format } from './detect-format.js';
import { detectFormat, headerFormat, isPreamble } from './detect-format.js';
import { MAX_LINE } from '../parse/text.js';
import { CAPTURE_PARSERS } from './parsers.js';
import type { InputReader, Parsed, Shared } from './parsers.js';
import type { Chunk, Line, LineStream } from './text-input.js';
import { detach, linesFrom, linesOf, reopenLines } from './text-input.js';
import { Tail } from './tail.js';
import { warmUp } from './warm-up.js';
import type { SplitOutcome, TailOptions, TailRead } from './tail.js';
import { MAX_PROCESSES } from '../parse/lsof/processes.js';
import { formatChange } from './format-switch.js';
import type { FormatChange } from './format-switch.js';
import { Unpaster } from './paste.js';
import { MAX_SOCKET_RECORDS, SocketFold } from './fold.js';
import { attachFold } from '../model/folded.js';
import { mergeSockets } from './merge.js';
import type { SocketFds } from './merge.js';

export interface InputSummary {
  source: string;
  format: Format;
  lines: number;
  records: number;
  skipped: number;
  /** What reading it assumed that the text does not say (e.g. the state of rows ss printed without one). */
  assumed: string[];
}

/** What the text cannot say, given on the command line (`--state`, `--port-range`, `--fd-limit`, `--somaxconn`). */
export interface Assumptions {
  state?: TcpState;
  portRange?: [number, number];
  fdLimit?: number;
  somaxconn?: number;
}

export interface CaptureResult {
  snapshot: Snapshot;
  inputs: InputSummary[];
  /** What the command line supplied that the text cannot say (--port-range, --fd-limit, --somaxconn). */
  assumed: string[];
  /** The first skipped lines of all inputs (for the report), at most 20. */
  skippedLines: SkippedLine[];
  /** Inputs read by two threads (capture/tail.ts): how (not reported; tests read it). */
  splits: SplitOutcome[];
}

/** Share of lines that may be skipped before the input is called unreadable. */
const MAX_SKIPPED_SHARE = 0.2;
const MIN_SKIPPED_TO_FAIL = 10;

/**
 * Socket rows one lsof capture keeps as records before it folds them (capture/fold.ts): below
 * this, every row is a record, as the merge of several captures needs.
 */
const FOLD_AFTER = 10_000;

/**
 * Characters read before a capture folded from its first row sizes the fold's inode table for the
 * rest (SocketFold.expect), as the worker does (tail-worker.ts).
 */
const RESERVE_AT = 1 << 20;

interface CaptureOptions {
  foldAfter?: number;
  /**
   * Whether a file whose second half goes to a worker (tail.ts) folds from its first row on (the
   * default) rather than after `foldAfter` sockets. Why: the worker's half joins only a folded
   * first half (a first half of fewer sockets was read again by the main thread), and the first
   * 10,000 socket rows read as records cost the main thread ~100-150 ms of a 1M-line capture
   * (--cpu-prof: whole(), adopt()). Measured on the 1M-line socket-heavy capture
   * (bench/analyze.mjs --socket-heavy), two threads, alternating runs: 1.25 s against 1.31 s
   * (11 runs each) and 1.68 against 1.79 s (11 each, a slower moment of the machine); one thread
   * alone is not changed by it (1.58 against 1.61 s, 7 each), so it is tied to the split.
   */
  foldEarly?: boolean;
  split?: TailOptions;
  coreToSpare?: () => boolean;
}

/**
 * A capture folded from its first row (CaptureOptions.foldEarly) in which another capture follows: folded, its
 * rows cannot be given to the merge as records. The file is read again, folding after foldAfter
 * sockets as any other input (analyzeCapture): what the report says is what it would have said.
 */
class FoldedEarly extends Error {
  constructor(readonly stream: LineStream) {
    super('another capture follows a capture folded from its first row');
  }
}

/**
 * Reads every input and builds the merged snapshot. A single lsof input of more than `foldAfter`
 * sockets folds its rows as they stream (capture/fold.ts): its memory then stays bounded.
 */
export async function analyzeCapture(
  streams: LineStream[], forced: Format | undefined, takenAt: string, assume: Assumptions = {}, options: CaptureOptions = {},
): Promise<CaptureResult> {
  try {
    return await readCaptures(streams, forced, takenAt, assume, options);
  } catch (error) {
    if (!(error instanceof FoldedEarly)) throw error;
    const again = await reopenLines(error.stream);
    try {
      const { early: _, ...split } = options.split ?? {}; // a worker started early was the first reading's
      return await readCaptures([again], forced, takenAt, assume, { ...options, split, foldEarly: false });
    } finally {
      again.close();
    }
  }
}

async function readCaptures(
  streams: LineStream[], forced: Format | undefined, takenAt: string, assume: Assumptions,
  { foldAfter = FOLD_AFTER, foldEarly = true, split = {}, coreToSpare = () => false }: CaptureOptions,
): Promise<CaptureResult> {
  const splits: SplitOutcome[] = [];
  const builder = new CaptureBuilder(assume);
  const shared: Shared = { listed: new Map(), inputs: 0, ...(assume.state === undefined ? {} : { state: assume.state }) };
  const inputs: InputSummary[] = [];
  const skippedLines: SkippedLine[] = [];
  for (const stream of streams) {
    const first = stream.overlong[0];
    if (first !== undefined && !stream.head.some((l) => !isPreamble(l.text))) {
      // nothing readable before the over-long line (a single 100 MB line): that line is the problem
      throw new InputError(`line ${first.no} is longer than ${MAX_LINE / 1024} KiB: no tool fdleak reads prints such lines`, { source: stream.source, line: first.no, text: first.text });
    }
    // Text as people paste it (fenced, quoted, indented, a prompt or prose on top): undone line by line.
    const unpaster = Unpaster.of(stream.head, forced !== undefined || readable(stream.head));
    const head = unpaster === null ? stream.head : unpasted(stream.head, forced);
    // One part per format in the stream (most streams: one); each part is a capture of its own.
    let part = new Part(detectFormat(head, stream.source, forced), stream.source, head, 1, shared, unpaster?.notes ?? []);
    let parts = 1;
    let seen = 0; // characters read so far
    let earlyFold: SocketFold | null = null; // folded from the first row: sized once RESERVE_AT is read
    let reserved = false;
    const readChunks = async (batches: AsyncIterable<Chunk[]>): Promise<void> => {
      for await (const chunks of batches) {
        for (let chunk of chunks) {
          // One lsof capture, large: from here on its socket rows fold as they stream.
          if (streams.length === 1 && parts === 1 && !builder.folded && part.reader.foldInto !== undefined) {
            if (foldEarly && tail !== null && seen === 0) earlyFold = builder.fold(part.reader);
            else if (builder.socketRecords >= foldAfter) {
              const sockets = builder.socketRecords;
              builder.fold(part.reader).expect(sockets, seen, tail?.boundary ?? stream.file?.size ?? 0);
            }
          }
          if (earlyFold !== null && !reserved && seen >= RESERVE_AT) {
            earlyFold.expect(earlyFold.rows, seen, tail!.boundary); // the rows so far, at their rate to the boundary
            reserved = true;
          }
          seen += chunk.text.length + 1;
          if (unpaster !== null) chunk = unpaster.chunk(chunk);
          for (;;) {
            let change: FormatChange | null;
            if (forced === undefined && part.reader.readUntil !== undefined) {
              // lsof: another tool's header is a bad row to lsof's reader, which stops there (no scan)
              const format = part.format;
              const parsed = part.reader.readUntil(chunk, (line) => { const f = headerFormat(line); return f !== undefined && f !== format; });
              part.records += builder.add(parsed);
              if (parsed.stoppedAt < 0) break;
              const end = chunk.text.indexOf('\n', parsed.stoppedAt);
              change = { at: parsed.stoppedAt, format: headerFormat(chunk.text.slice(parsed.stoppedAt, end < 0 ? undefined : end))! };
            } else {
              change = forced === undefined ? formatChange(chunk, part.format) : null;
              if (change === null) {
                part.records += builder.add(part.reader.read(chunk));
                break;
              }
            }
            if (earlyFold !== null) throw new FoldedEarly(stream);
            if (builder.folded) {
              throw new InputError(`another capture (${change.format}) follows an lsof capture of more than ${foldAfter.toLocaleString('en-US')} sockets in one stream: give each capture as a file of its own`, { source: stream.source });
            }
            // The chunk holds the end of this part and the start of the next: each read by its own parser.
            const [before, after] = splitChunk(chunk, change.at);
            if (before !== null && part.reader.readUntil === undefined) part.records += builder.add(part.reader.read(before));
            inputs.push(part.finish(after.first - 1, stream, builder, skippedLines));
            part = new Part(change.format, `${stream.source}#${++parts}`, linesOf(after).slice(0, 50), after.first, shared, []);
            chunk = after;
          }
        }
        part.detachSkipped();
      }
    };
    // A large lsof file: its second half read by a worker meanwhile (capture/tail.ts).
    const tail = streams.length === 1 && unpaster === null && part.format === 'lsof' && part.reader.lsof !== undefined
      ? Tail.start(stream, head, assume.portRange ?? null, assume.state, split, coreToSpare) : null;
    if (tail !== split.early) split.early?.stop(); // a worker started early (cli/prefetch.ts) and not taken ends now
    if (tail !== null) warmUp(); // as the worker does (warm-up.ts)
    try {
      await readChunks(stream.chunks());
      let last = stream.lines;
      if (tail !== null) {
        const read = parts === 1 && builder.folded ? await tail.read() : 'the lines before it were not one folded lsof capture';
        const why = typeof read === 'string' ? read : builder.absorbTail(part, read, stream);
        if (why === null) {
          last += (read as TailRead).lines;
          tail.outcome.joined = true;
        } else {
          tail.notJoined(why);
          const rest = await linesFrom(tail.path, stream.source, tail.boundary, last + 1, stream.overlong);
          await readChunks(rest);
          last = rest.lines();
        }
        splits.push(tail.outcome);
      }
      inputs.push(part.finish(last, stream, builder, skippedLines));
    } finally {
      tail?.stop();
    }
  }
  const assumed = [
    ...(assume.portRange === undefined ? [] : [`ip_local_port_range ${assume.portRange[0]}-${assume.portRange[1]} (--port-range)`]),
    ...(assume.fdLimit === undefined ? [] : [`every process's fd limit is ${assume.fdLimit} (--fd-limit)`]),
    ...(assume.somaxconn === undefined ? [] : [`net.core.somaxconn ${assume.somaxconn} (--somaxconn)`]),
  ];
  return { snapshot: builder.build(takenAt, inputs), inputs, skippedLines, assumed, splits };
}

/** Whether the format is recognised in the first lines as they are. */
function readable(head: readonly Line[]): boolean {
  try {
    detectFormat(head, '');
    return true;
  } catch {
    return false;
  }
}

/** The first lines with the paste shape undone (a fresh Unpaster: the stream's own reads them again). */
function unpasted(head: readonly Line[], forced: Format | undefined): Line[] {
  return Unpaster.of(head, forced !== undefined || readable(head))!.lines(head);
}

/** A chunk cut at a line start `at` (an offset in its text): the lines before (null if none) and from there. */
function splitChunk(chunk: Chunk, at: number): [Chunk | null, Chunk] {
  if (at === 0) return [null, chunk];
  const before = chunk.text.slice(0, at - 1); // without the newline that ends it
  let count = 1;
  for (let i = before.indexOf('\n'); i >= 0; i = before.indexOf('\n', i + 1)) count++;
  return [{ first: chunk.first, count, text: before }, { first: chunk.first + count, count: chunk.count - count, text: chunk.text.slice(at) }];
}

/** One capture: a whole input, or one format's part of a stream holding several. */
class Part {
  readonly sink = new LineSink(false);
  readonly reader: InputReader;
  records = 0;
  private detached = 0;

  constructor(readonly format: Format, readonly source: string, head: readonly Line[], readonly first: number, shared: Shared, private readonly notes: string[]) {
    this.reader = CAPTURE_PARSERS[format].open(head, source, this.sink, shared);
  }

  /** Skipped lines keep their own copy of the text, not the chunk's. */
  detachSkipped(): void {
    const { skipped } = this.sink;
    for (let i = this.detached; i < skipped.length; i++) skipped[i]!.text = detach(skipped[i]!.text);
    this.detached = skipped.length;
  }

  /** The part ends at line `last`: its summary, or an InputError when it could not be read. */
  finish(last: number, stream: LineStream, builder: CaptureBuilder, skippedLines: SkippedLine[]): InputSummary {
    const { sink, format } = this;
    this.records += builder.add(this.reader.end());
    this.detachSkipped();
    const overlong = stream.overlong.filter((l) => l.no >= this.first && l.no <= last);
    const lines = last - this.first + 1;
    const meaningful = lines - overlong.length;
    for (const l of overlong) sink.bad(`line longer than ${MAX_LINE / 1024} KiB, skipped`, stream.source, l.no, l.text);
    const summary = { source: this.source, format, lines, records: this.records, skipped: sink.count, assumed: [...this.notes, ...(this.reader.assumed ?? [])] };
    if (this.records === 0 && sink.count > 0) {
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
    skippedLines.push(...sink.skipped.slice(0, 20 - skippedLines.length));
    builder.formats.add(format);
    return summary;
  }
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
  private socketFds: SocketFds = new Map();
  private sockets: Socket[] = [];
  /** The rows of one large lsof capture, folded (then `sockets` stays empty). */
  private folding: SocketFold | null = null;
  private socketFdRecords = 0;

  constructor(private readonly assume: Assumptions) {}

  get folded(): boolean {
    return this.folding !== null;
  }

  /** Socket rows and socket fd records held. */
  get socketRecords(): number {
    return this.sockets.length + this.socketFdRecords;
  }

  /** From now on, one lsof capture's socket rows fold (capture/fold.ts), those read so far too. */
  fold(reader: InputReader): SocketFold {
    const fold = new SocketFold(this.assume.portRange ?? null);
    reader.foldInto!(fold); // the reader's rows are the records held here
    this.sockets = [];
    for (const fds of this.socketFds.values()) {
      for (const [n, fd] of fds) {
        if (fd.kind !== 'socket') continue;
        fold.socketFd(fd);
        fds.delete(n);
      }
    }
    this.folding = fold;
    return fold;
  }

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
      if (fd.kind === 'socket') {
        if (this.folding !== null) {
          this.folding.socketFd(fd);
          continue;
        }
        this.socketFdRecords++;
      }
      let fds = this.socketFds.get(fd.pid);
      if (fds === undefined) this.socketFds.set(fd.pid, (fds = new Map()));
      fds.set(fd.fd, fd);
    }
    for (const s of parsed.sockets) {
      this.sockets.push(s);
      for (const o of s.owners) this.process(o.pid, o.command);
    }
    if (this.sockets.length > MAX_SOCKET_RECORDS) {
      throw new InputError(`more than ${MAX_SOCKET_RECORDS.toLocaleString('en-US')} socket rows kept one by one (ss, netstat and /proc/net rows, and captures merged): more than fdleak analyze judges in bounded memory; capture less (ss -tanp state close-wait, lsof -nP -p PID), or give a large lsof capture alone`, { source: 'analyze' });
    }
    return parsed.records;
  }

  /**
   * Takes in the worker's reading of the rest of `part`'s capture (capture/tail.ts) as if the rows
   * had been read here; null once done, else why it could not be (and nothing changed).
   */
  absorbTail(part: Part, read: TailRead, stream: LineStream): string | null {
    const reader = part.reader.lsof!;
    if (!reader.joins(read.carried)) return 'the column layout or the thread of the last row differs';
    if (read.pids.some((pid) => reader.pids.has(pid))) return 'a process is listed on both sides';
    if (reader.pids.size + read.pids.length > MAX_PROCESSES) return 'too many processes';
    const offset = stream.lines;
    if (!this.folding!.absorb(read.fold, offset)) return 'a socket is listed on both sides, or a cap is passed';
    for (const fd of read.fds) fd.origin.line += offset;
    part.records += this.add({ processes: read.processes, fds: read.fds, sockets: [], records: read.records });
    for (const s of read.skipped) part.sink.bad(s.reason, s.source, s.line + offset, s.text);
    part.sink.overflow += read.overflow;
    for (const l of read.overlong) stream.overlong.push({ no: l.no + offset, text: l.text });
    return null;
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

  /** The sysctls the command line gave (the text holds none). */
  private sysctls(): NetSysctls {
    const { portRange, somaxconn } = this.assume;
    return { ...UNKNOWN_SYSCTLS, ipLocalPortRange: portRange ?? null, somaxconn: somaxconn ?? null };
  }

  build(takenAt: string, inputs: InputSummary[]): Snapshot {
    // One lsof capture has one row per socket already (its reader joins them by inode): nothing to merge.
    const single = inputs.length === 1 && (this.formats.has('lsof') || this.formats.has('lsof-F'));
    const fold = this.folding;
    // a process with socket fds the fold took (sock rows read in place among them, and the worker's)
    fold?.forEachSocketFdPid((pid) => { this.process(pid, null).fromFdTable = true; });
    const sockets = fold !== null ? fold.kept : single ? this.sockets : mergeSockets(this.sockets, this.socketFds);
    const socketFds = this.socketFds;
    // buildSnapshot replaces each record by its checked copy: nothing else may hold the originals.
    this.sockets = [];
    this.socketFds = new Map();
    const owned = new Map<number, number>();
    for (const s of sockets) for (const o of s.owners) owned.set(o.pid, (owned.get(o.pid) ?? 0) + 1);
    const ownedFolded = (pid: number): number => {
      let n = 0;
      for (const count of fold?.statesOf(pid)?.values() ?? []) n += count;
      return n;
    };
    const processes: Process[] = [...this.processes.values()]
      .sort((a, b) => a.pid - b.pid)
      .map((p) => {
        const fdCount = p.fromFdTable ? Object.values(p.kinds).reduce((a, b) => a + b, 0) : (owned.get(p.pid) ?? 0) + ownedFolded(p.pid);
        return {
          pid: p.pid, command: p.command, cmdline: null, uid: null, startTime: null,
          fdCount,
          fdTableComplete: p.fromFdTable && p.complete,
          fdLimit: this.assume.fdLimit === undefined ? null : { soft: this.assume.fdLimit, hard: this.assume.fdLimit },
          netns: null, threads: null,
          fdKinds: p.fromFdTable ? p.kinds : null,
          ...(p.targets === null ? {} : { repeatedTargets: [...p.targets.values()].sort((a, b) => b.count - a.count || (a.target < b.target ? -1 : a.target > b.target ? 1 : 0)) }),
        };
      });
    const hasFdTables = this.formats.has('lsof') || this.formats.has('lsof-F');
    const ownerless = sockets.some((s) => s.inode === '0' || (s.owners.length === 0 && s.state !== null && s.state !== 'LISTEN'));
    const listing = this.formats.has('ss') || this.formats.has('netstat') || this.formats.has('proc-net');
    const warnings = inputs.filter((i) => i.skipped > 0).map((i) => `${i.source}: ${i.skipped} of ${i.lines} lines could not be read and were skipped`);
    const snapshot = buildSnapshot({
      takenAt,
      kind: 'capture',
      processes,
      fds: [...socketFds.values()].flatMap((fds) => [...fds.values()]).sort((a, b) => a.pid - b.pid || a.fd - b.fd),
      sockets,
      namespaces: [{ id: null, tables: [...this.formats], sysctls: this.sysctls(), backlogKnown: sockets.some((s) => s.backlog !== null) }],
      host: { fileNr: null, nrOpen: null },
      coverage: {
        fdTables: hasFdTables,
        socketTables: sockets.length > 0 || (fold?.rows ?? 0) > 0 || listing,
        netnsAware: false,
        limits: this.assume.fdLimit !== undefined,
        sysctls: this.assume.portRange !== undefined || this.assume.somaxconn !== undefined,
        // ss/netstat listings with -a, and /proc/net, show rows no fd owns (TIME_WAIT, unaccepted).
        ownerlessRows: listing && (ownerless || this.formats.has('proc-net')),
      },
      warnings,
    }, { inPlace: true });
    if (fold !== null) attachFold(snapshot, fold);
    return snapshot;
  }
}
