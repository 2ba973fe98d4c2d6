/**
 * How `fdleak analyze` feeds each format's parser in batches: what context a batch needs to parse
 * on its own (lsof's header, the lsof -F process set, netstat's section header, /proc/net's header),
 * and where a batch may be cut (never inside an lsof -F fd set).
 */
import type { Fd } from '../model/fd.js';
import type { Socket, SocketProto } from '../model/socket.js';
import type { LineSink } from '../util/skips.js';
import type { Format } from './detect-format.js';
import type { LsofCarry } from './lsof.js';
import { parseLsof, parseLsofFields } from './lsof.js';
import { parseNetstat } from './netstat.js';
import type { InetTable } from './proc-net-inet.js';
import { INET_TABLES, parseProcNetInet, tableOfSource } from './proc-net-inet.js';
import { parseProcNetUnix } from './proc-net-unix.js';
import { parseSs } from './ss.js';
import type { Line } from './text-input.js';

/** What a batch yields: processes it names, fd records, socket rows. */
export interface Parsed {
  processes: Array<{ pid: number; command: string; fdTableComplete?: boolean; fromFdTable?: boolean }>;
  fds: Fd[];
  sockets: Socket[];
}

export interface ParserState {
  /** Lines to put before the next batch so it parses alone (they are not counted twice). */
  context(): Line[];
  /** Called for every line after its batch was parsed. */
  see(line: Line): void;
  /** Format-specific memory (ss: protocol of rows without Netid; proc-net: which table). */
  readonly options: Record<string, unknown>;
}

export interface CaptureParser {
  start(head: readonly Line[], source: string): ParserState;
  /** Index at which to cut a batch; lines from there move to the next batch. */
  cut(lines: Line[]): number;
  parse(text: string, source: string, sink: LineSink, state: ParserState): Parsed;
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

/** fd numbers of 10000 and up print as "*000": the carry restores them across batches. */
const carryOf = (state: ParserState): LsofCarry => state.options.carry as LsofCarry;

const lsof: CaptureParser = {
  start: () => headerState((t) => /^\s*COMMAND\s+PID\s/.test(t), { carry: { lastFd: new Map() } satisfies LsofCarry }),
  cut: all,
  parse: (text, source, sink, state) => parseLsof(text, source, sink, carryOf(state)),
};

/** lsof -F: a batch may only start at a process ("p") or fd ("f") field; the process set is context. */
const lsofFields: CaptureParser = {
  start() {
    let processSet: Line[] = [];
    let inProcess = false;
    return {
      options: { carry: { lastFd: new Map() } satisfies LsofCarry },
      context: () => processSet,
      see(line) {
        const tag = line.text[0];
        if (tag === 'p') { processSet = [line]; inProcess = true; return; }
        if (tag === 'f') { inProcess = false; return; }
        if (inProcess) processSet.push(line);
      },
    };
  },
  cut(lines) {
    for (let i = lines.length - 1; i > 0; i--) {
      const tag = lines[i]!.text[0];
      if (tag === 'p' || tag === 'f') return i;
    }
    return lines.length;
  },
  parse: (text, source, sink, state) => parseLsofFields(text, source, sink, carryOf(state)),
};

const ss: CaptureParser = {
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
    const sockets = parseSs(text, source, { sink, ...(proto === undefined ? {} : { proto }) });
    return { processes: [], fds: [], sockets };
  },
};

const netstat: CaptureParser = {
  // The section title and column header decide how rows read (inet vs unix).
  start: () => headerState((t) => /^(Active |Proto\s)/.test(t), {}, 2),
  cut: all,
  parse: (text, source, sink) => {
    const parsed = parseNetstat(text, source, sink);
    return { processes: [], fds: [], sockets: parsed };
  },
};

const procNet: CaptureParser = {
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
    const sockets = table === 'unix' ? parseProcNetUnix(text, source, null, sink) : parseProcNetInet(text, source, table, null, undefined, sink);
    return { processes: [], fds: [], sockets };
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
  lsof, 'lsof-F': lsofFields, ss, netstat, 'proc-net': procNet,
};
