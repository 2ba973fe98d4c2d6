/**
 * How `fdleak analyze` feeds each format's parser, chunk by chunk. lsof and lsof -F read a chunk in
 * place (LsofReader): it holds the header's layout, the process
 * set being read and each process's fds so far; an lsof -F chunk is cut before its last "p" or "f"
 * line, so that a file set is read whole. The other formats are read line by line with the context
 * a batch needs to parse on its own (netstat's section header, /proc/net's header), and where a
 * batch may be cut (never between an ss socket line and its continuation lines).
 */
import type { Fd, FdKind } from '../model/fd.js';
import type { Socket, SocketProto, TcpState } from '../model/socket.js';
import { LineSink } from '../util/skips.js';
import type { Format } from './detect-format.js';
import { isPreamble } from './detect-format.js';
import type { SocketSink } from '../parse/lsof/builder.js';
import type { FdTable } from '../parse/lsof/reader.js';
import { LsofReader } from '../parse/lsof/reader.js';
import { parseNetstat } from '../parse/netstat.js';
import type { InetTable } from '../parse/proc-net-inet.js';
import { INET_TABLES, parseProcNetInet, tableOfSource } from '../parse/proc-net-inet.js';
import { parseProcNetUnix } from '../parse/proc-net-unix.js';
import { parseSs, ssStateFilter } from '../parse/ss.js';
import type { Chunk, Line } from './text-input.js';
import { linesOf } from './text-input.js';

/** What a chunk yields: processes it names, socket fds (other fds are counted in fdKinds), socket rows. */
export interface Parsed {
  processes: Array<{ pid: number; command: string; fdTableComplete?: boolean; fdKinds?: Record<FdKind, number>; repeatedTargets?: Array<{ target: string; kind: FdKind; count: number }> }>;
  fds: Fd[];
  sockets: Socket[];
  /** fds and socket rows read. */
  records: number;
}

/** What the inputs of one analysis share: the fds listed so far (an fd two captures list counts once). */
export interface Shared {
  listed: Map<number, FdTable>;
  inputs: number;
  /** --state: the state of tcp rows that have none (ss with a state filter drops the State column). */
  state?: TcpState;
}

/** One input being read: every chunk in order, then end(). */
export interface InputReader {
  read(chunk: Chunk): Parsed;
  /** read(), stopping before a line that is none of this format's and that `stop` accepts; `stoppedAt`: its offset, or -1. */
  readUntil?(chunk: Chunk, stop: (line: string) => boolean): Parsed & { stoppedAt: number };
  end(): Parsed;
  /** What the reading assumed that the text does not say (shown in the report's input). */
  assumed?: string[];
  /** lsof: socket rows go to `sink` from now on, with those read so far (capture/fold.ts). */
  foldInto?(sink: SocketSink): void;
  /** lsof's column listing: its reader (a capture's rest read on another thread joins it: capture/tail.ts). */
  lsof?: LsofReader;
}

export interface CaptureParser {
  open(head: readonly Line[], source: string, sink: LineSink, shared: Shared): InputReader;
}

const NOTHING: Parsed = { processes: [], fds: [], sockets: [], records: 0 };

const lsof: CaptureParser = {
  open(head, source, sink, shared) {
    const reader = new LsofReader('lsof', { source, sink, rowless: true, listed: shared.listed, input: shared.inputs++ });
    const headerless = !head.some((l) => /^COMMAND\s+PID\s/.test(l.text));
    return {
      // `lsof | grep sock` drops the header: rows are read by their shape, without TID columns known
      ...(headerless ? { assumed: ['no lsof header (COMMAND PID ...): rows read by their shape'] } : {}),
      read: (chunk) => reader.read(chunk.text, chunk.first, chunk.bytes),
      readUntil: (chunk, stop) => reader.readUntil(chunk.text, chunk.first, stop, chunk.bytes),
      end: () => ({ ...NOTHING, processes: reader.end() }),
      foldInto: (sink) => reader.foldInto(sink),
      lsof: reader,
    };
  },
};

/** How much lsof -F text may wait for a place to cut. */
const MAX_PENDING = 1 << 20;

/** lsof -F: a piece may only end before a process ("p") or file ("f") field. */
const lsofFields: CaptureParser = {
  open(_head, source, sink, shared) {
    const reader = new LsofReader('lsof-F', { source, sink, rowless: true, listed: shared.listed, input: shared.inputs++ });
    let pending: Chunk | null = null;
    return {
      foldInto: (sink) => reader.foldInto(sink),
      read(chunk) {
        // Lines over MAX_LINE are in no chunk: blank lines (passed over) keep the numbers in step.
        const text = pending === null ? chunk.text : pending.text + '\n'.repeat(chunk.first - pending.first - pending.count + 1) + chunk.text;
        const first = pending === null ? chunk.first : pending.first;
        pending = null;
        const at = Math.max(text.lastIndexOf('\np'), text.lastIndexOf('\nf'));
        if (at < 0) {
          // No set starts after the first line (a short chunk: the line a read split): wait for one,
          // unless it is not coming (text that is not lsof -F, forced by --format).
          if (text.length >= MAX_PENDING) return reader.read(text, first);
          pending = { first, count: chunk.first + chunk.count - first, text };
          return NOTHING;
        }
        const rest = text.slice(at + 1);
        let count = 1;
        for (let i = rest.indexOf('\n'); i >= 0; i = rest.indexOf('\n', i + 1)) count++;
        pending = { first: chunk.first + chunk.count - count, count, text: rest };
        return reader.read(text.slice(0, at), first);
      },
      end() {
        const last = pending === null ? NOTHING : reader.read(pending.text, pending.first);
        pending = null;
        return { ...last, processes: [...last.processes, ...reader.end()] };
      },
    };
  },
};

/**
 * The formats read line by line: `context()` lines go before each batch so it parses alone (they
 * are not counted twice), `cut()` says where a batch may end, `see()` follows every line.
 */
interface LineParser {
  start(head: readonly Line[], source: string, shared: Shared): ParserState;
  cut(lines: Line[]): number;
  parse(text: string, source: string, sink: LineSink, state: ParserState): Socket[];
}

interface ParserState {
  context(): Line[];
  see(line: Line): void;
  /** Format-specific memory (ss: protocol of rows without Netid; proc-net: which table). */
  readonly options: Record<string, unknown>;
  /** What the reading assumed. */
  assumed?: string[];
}

/** A LineParser as a CaptureParser: lines without preamble, batches with context, origins shifted. */
function byLines(parser: LineParser): CaptureParser {
  return {
    open(head, source, sink, shared) {
      const state = parser.start(head, source, shared);
      let carry: Line[] = [];
      const run = (lines: Line[]): Parsed => {
        if (lines.length === 0) return NOTHING;
        const context = state.context().filter((c) => c.no < lines[0]!.no);
        const all = [...context, ...lines];
        const local = new LineSink(false);
        const sockets = parser.parse(all.map((l) => l.text).join('\n'), source, local, state);
        const lineNo = (n: number): number => all[n - 1]?.no ?? n;
        for (const s of local.skipped) {
          if (s.line <= context.length) continue; // a context line was reported in its own batch
          sink.bad(s.reason, s.source, lineNo(s.line), s.text);
        }
        for (const s of sockets) s.origin.line = lineNo(s.origin.line);
        for (const l of lines) state.see(l);
        return { processes: [], fds: [], sockets, records: sockets.length };
      };
      return {
        ...(state.assumed === undefined ? {} : { assumed: state.assumed }),
        read(chunk) {
          const lines = [...carry, ...linesOf(chunk).filter((l) => !isPreamble(l.text))];
          const cut = parser.cut(lines);
          carry = lines.slice(cut);
          return run(lines.slice(0, cut));
        },
        end() {
          const last = run(carry);
          carry = [];
          return last;
        },
      };
    },
  };
}

const all = (lines: Line[]): number => lines.length;

/** Remembers the last line matching `isContext` (a header or section title). */
function headerState(isContext: (text: string) => boolean, options: Record<string, unknown> = {}, keep = 1): ParserState {
  let context: Line[] = [];
  return {
    options,
    context: () => context,
    see(line) {
      if (!isContext(line.text)) return;
      context = keep === 1 ? [line] : [...context, line].slice(-keep);
    },
  };
}

/** The command line a capture shows above its output ("$ sudo ss -tnp state close-wait"), or undefined. */
function commandLineOf(head: readonly Line[], tool: string): Line | undefined {
  const re = new RegExp(`^\\s*(?:\\S*[$#%]\\s*)?(?:sudo\\s+(?:-\\S+\\s+)*)?(?:\\S*/)?${tool}(?:\\s|$)`);
  return head.find((l) => re.test(l.text));
}

const ss: LineParser = {
  start(head, _source, shared) {
    // Without a Netid column tcp and udp rows look alike: UNCONN only occurs for datagram sockets.
    const text = head.map((l) => l.text).join('\n');
    const netid = /^Netid\s/m.test(text);
    const proto: SocketProto | undefined = netid ? undefined : /^UNCONN\s/m.test(text) ? 'udp' : 'tcp';
    // ss drops the State column when one state filter is given: the rows' state is the filter's.
    const command = commandLineOf(head, 'ss');
    const filtered = command === undefined ? undefined : ssStateFilter(command.text);
    const noStateColumn = /^(Netid\s+)?Recv-Q\s/m.test(text);
    const state = shared.state ?? (noStateColumn ? filtered : undefined);
    const parserState = headerState(() => false, { proto, state });
    if (state !== undefined) {
      parserState.assumed = [shared.state !== undefined
        ? `rows without a state are ${state} (--state)`
        : `rows without a state are ${state} (the ss command line at line ${command!.no} filters on it)`];
    }
    return parserState;
  },
  cut(lines) {
    // Keep a socket line together with its TAB-led continuation lines.
    let i = lines.length;
    while (i > 0 && lines[i - 1]!.text.startsWith('\t')) i--;
    return i > 0 ? i - 1 : lines.length;
  },
  parse: (text, source, sink, state) => {
    const proto = state.options.proto as SocketProto | undefined;
    const filtered = state.options.state as TcpState | undefined;
    return parseSs(text, source, { sink, ...(proto === undefined ? {} : { proto }), ...(filtered === undefined ? {} : { state: filtered }) });
  },
};

const netstat: LineParser = {
  // The section title and column header decide how rows read (inet vs unix).
  start: () => headerState((t) => /^(Active |Aktive |Proto\s)/.test(t), {}, 2),
  cut: all,
  parse: (text, source, sink) => parseNetstat(text, source, sink),
};

const procNet: LineParser = {
  start(head, source) {
    const header = head.find((l) => /^\s*(sl\s+local_address|Num\s+RefCount)/.test(l.text));
    const table = procNetTable(head, source);
    const state = headerState((t) => /^\s*(sl\s+local_address|Num\s+RefCount)/.test(t), { table });
    if (header !== undefined) state.see(header);
    return state;
  },
  cut: all,
  parse: (text, source, sink, state) => {
    const table = state.options.table as InetTable | 'unix';
    return table === 'unix' ? parseProcNetUnix(text, source, null, sink) : parseProcNetInet(text, source, table, null, undefined, sink);
  },
};

/** Which /proc/net table a capture is: its file name, else its header and address width. */
export function procNetTable(head: readonly Line[], source: string): InetTable | 'unix' {
  const text = head.map((l) => l.text).join('\n');
  if (/^\s*Num\s+RefCount/m.test(text)) return 'unix';
  const named = source.slice(source.lastIndexOf('/') + 1).replace(/\.txt$/, '');
  if ((INET_TABLES as readonly string[]).includes(named)) return tableOfSource(named);
  const udp = /\bdrops\s*$/m.test(text);
  const v6 = /^\s*\d+: [0-9A-Fa-f]{32}:/m.test(text);
  return `${udp ? 'udp' : 'tcp'}${v6 ? '6' : ''}` as InetTable;
}

export const CAPTURE_PARSERS: Record<Format, CaptureParser> = {
  lsof, 'lsof-F': lsofFields, ss: byLines(ss), netstat: byLines(netstat), 'proc-net': byLines(procNet),
};
