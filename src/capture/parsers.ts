/**
 * How `fdleak analyze` feeds each format's parser, chunk by chunk. lsof and lsof -F read a chunk in
 * place (parseLsofPiece, parseLsofFieldsPiece): their carry holds the header's layout, the process
 * set being read and each process's fds so far; an lsof -F chunk is cut before its last "p" or "f"
 * line, so that a file set is read whole. The other formats are read line by line with the context
 * a batch needs to parse on its own (netstat's section header, /proc/net's header), and where a
 * batch may be cut (never between an ss socket line and its continuation lines).
 */
import type { Fd, FdKind } from '../model/fd.js';
import type { Socket, SocketProto } from '../model/socket.js';
import { LineSink } from '../util/skips.js';
import type { Format } from './detect-format.js';
import { isPreamble } from './detect-format.js';
import type { FdTable, LsofCarry, LsofPiece } from '../parse/lsof/lsof.js';
import { lsofCaptureCarry, lsofCaptureProcesses, parseLsofFieldsPiece, parseLsofPiece } from '../parse/lsof/lsof.js';
import { parseNetstat } from '../parse/netstat.js';
import type { InetTable } from '../parse/proc-net-inet.js';
import { INET_TABLES, parseProcNetInet, tableOfSource } from '../parse/proc-net-inet.js';
import { parseProcNetUnix } from '../parse/proc-net-unix.js';
import { parseSs } from '../parse/ss.js';
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
}

/** One input being read: every chunk in order, then end(). */
export interface InputReader {
  read(chunk: Chunk): Parsed;
  end(): Parsed;
}

export interface CaptureParser {
  open(head: readonly Line[], source: string, sink: LineSink, shared: Shared): InputReader;
}

const NOTHING: Parsed = { processes: [], fds: [], sockets: [], records: 0 };
const fromPiece = (piece: LsofPiece): Parsed => piece;

const lsof: CaptureParser = {
  open(_head, source, sink, shared) {
    const carry = lsofCaptureCarry(shared.listed, shared.inputs++);
    return {
      read: (chunk) => fromPiece(parseLsofPiece(chunk.text, source, sink, carry, chunk.first)),
      end: () => ({ ...NOTHING, processes: lsofCaptureProcesses(carry) }),
    };
  },
};

/** How much lsof -F text may wait for a place to cut. */
const MAX_PENDING = 1 << 20;

/** lsof -F: a piece may only end before a process ("p") or file ("f") field. */
const lsofFields: CaptureParser = {
  open(_head, source, sink, shared) {
    const carry: LsofCarry = lsofCaptureCarry(shared.listed, shared.inputs++);
    let pending: Chunk | null = null;
    return {
      read(chunk) {
        // Lines over MAX_LINE are in no chunk: blank lines (passed over) keep the numbers in step.
        const text = pending === null ? chunk.text : pending.text + '\n'.repeat(chunk.first - pending.first - pending.count + 1) + chunk.text;
        const first = pending === null ? chunk.first : pending.first;
        pending = null;
        const at = Math.max(text.lastIndexOf('\np'), text.lastIndexOf('\nf'));
        if (at < 0) {
          // No set starts after the first line (a short chunk: the line a read split): wait for one,
          // unless it is not coming (text that is not lsof -F, forced by --format).
          if (text.length >= MAX_PENDING) return fromPiece(parseLsofFieldsPiece(text, source, sink, carry, first));
          pending = { first, count: chunk.first + chunk.count - first, text };
          return NOTHING;
        }
        const rest = text.slice(at + 1);
        let count = 1;
        for (let i = rest.indexOf('\n'); i >= 0; i = rest.indexOf('\n', i + 1)) count++;
        pending = { first: chunk.first + chunk.count - count, count, text: rest };
        return fromPiece(parseLsofFieldsPiece(text.slice(0, at), source, sink, carry, first));
      },
      end() {
        const last = pending === null ? NOTHING : fromPiece(parseLsofFieldsPiece(pending.text, source, sink, carry, pending.first));
        pending = null;
        return { ...last, processes: [...last.processes, ...lsofCaptureProcesses(carry)] };
      },
    };
  },
};

/**
 * The formats read line by line: `context()` lines go before each batch so it parses alone (they
 * are not counted twice), `cut()` says where a batch may end, `see()` follows every line.
 */
interface LineParser {
  start(head: readonly Line[], source: string): ParserState;
  cut(lines: Line[]): number;
  parse(text: string, source: string, sink: LineSink, state: ParserState): Socket[];
}

interface ParserState {
  context(): Line[];
  see(line: Line): void;
  /** Format-specific memory (ss: protocol of rows without Netid; proc-net: which table). */
  readonly options: Record<string, unknown>;
}

/** A LineParser as a CaptureParser: lines without preamble, batches with context, origins shifted. */
function byLines(parser: LineParser): CaptureParser {
  return {
    open(head, source, sink) {
      const state = parser.start(head, source);
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

const ss: LineParser = {
  start(head) {
    // Without a Netid column tcp and udp rows look alike: UNCONN only occurs for datagram sockets.
    const text = head.map((l) => l.text).join('\n');
    const netid = /^Netid\s/m.test(text);
    const proto: SocketProto | undefined = netid ? undefined : /^UNCONN\s/m.test(text) ? 'udp' : 'tcp';
    return headerState(() => false, { proto });
  },
  cut(lines) {
    // Keep a socket line together with its TAB-led continuation lines.
    let i = lines.length;
    while (i > 0 && lines[i - 1]!.text.startsWith('\t')) i--;
    return i > 0 ? i - 1 : lines.length;
  },
  parse: (text, source, sink, state) => {
    const proto = state.options.proto as SocketProto | undefined;
    return parseSs(text, source, { sink, ...(proto === undefined ? {} : { proto }) });
  },
};

const netstat: LineParser = {
  // The section title and column header decide how rows read (inet vs unix).
  start: () => headerState((t) => /^(Active |Proto\s)/.test(t), {}, 2),
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
