/**
 * /proc/net/unix of one network namespace: kernel unix_seq_show,
 * "%pK: %08X %08X %08X %04X %02X %5lu" then an optional path.
 * Header "Num RefCount Protocol Flags Type St Inode Path". Quirks: Flags 00010000 (__SO_ACCEPTCON)
 * marks a listener; St is SS_* (01 unconnected, 02 connecting, 03 connected, 04 disconnecting);
 * inode 0 is an unaccepted server side; abstract names start with "@"; a path may contain spaces.
 */
import { InputError } from '../errors.js';
import type { Socket } from '../model/socket.js';
import { LineSink, STRICT } from '../util/skips.js';
import { readProcNetText } from './proc-net-inet.js';
import { MAX_LINE, stripCr } from './text.js';

const UNIX_TYPES: Record<string, string> = { '0001': 'STREAM', '0002': 'DGRAM', '0005': 'SEQPACKET' };
/** Column 7 (Inode) as `split(/\s+/)` would find it (the path after it may hold spaces). */
const INODE_COLUMN = /^\s*(?:\S+\s+){6}(\S+)/;
const UNIX_STATES: Record<string, string> = { '01': 'UNCONNECTED', '02': 'CONNECTING', '03': 'CONNECTED', '04': 'DISCONNECTING' };

/**
 * Pure: rows of /proc/net/unix. Detail is "STREAM LISTEN", "DGRAM UNCONNECTED", ...
 * `sink`: strict (live, the default) throws at a bad row; lenient (captured text) counts it. Header
 * lines are passed over wherever they are; in lenient mode a missing header is no error.
 * `keep(inode)`: rows whose Inode column it rejects are passed over unparsed (and unchecked), as in
 * parseProcNetInet.
 */
export function parseProcNetUnix(
  text: string,
  source: string,
  netns: string | null = null,
  sink: LineSink = STRICT(),
  keep?: (inode: string) => boolean,
): Socket[] {
  const sockets: Socket[] = [];
  const lines = text.split('\n');
  if (lines.length === 1 && lines[0] === '') {
    if (sink.strict) throw new InputError('empty input: expected the /proc/net/unix header line', { source });
    return sockets;
  }
  for (let i = 0; i < lines.length; i++) {
    const raw = stripCr(lines[i]!);
    if (raw.length > MAX_LINE) {
      sink.bad(`line longer than ${MAX_LINE} characters`, source, i + 1, raw);
      continue;
    }
    if (/^Num\s+RefCount\s+Protocol/.test(raw)) continue;
    if (i === 0 && sink.strict) {
      throw new InputError('expected the /proc/net/unix header "Num RefCount Protocol Flags Type St Inode Path"', { source, line: 1, text: raw });
    }
    if (raw.trim() === '') continue;
    if (keep !== undefined) {
      const inode = INODE_COLUMN.exec(raw)?.[1];
      if (inode !== undefined && !keep(inode)) continue;
    }
    const m = /^([0-9a-fA-F]+): ([0-9A-Fa-f]{8}) ([0-9A-Fa-f]{8}) ([0-9A-Fa-f]{8}) ([0-9A-Fa-f]{4}) ([0-9A-Fa-f]{2}) +(\d+)(?: (.*))?$/.exec(raw);
    if (m === null) {
      sink.bad('expected "Num: RefCount Protocol Flags Type St Inode [Path]"', source, i + 1, raw);
      continue;
    }
    const listening = (parseInt(m[4]!, 16) & 0x10000) !== 0;
    const type = UNIX_TYPES[m[5]!] ?? `type=${m[5]}`;
    const state = listening ? 'LISTEN' : (UNIX_STATES[m[6]!] ?? `st=${m[6]}`);
    const path = m[8] ?? '';
    sockets.push({
      proto: 'unix', family: 'unix', state: null, detail: `${type} ${state}`,
      local: path === '' ? null : { address: path, port: null }, remote: null,
      rxQueue: null, txQueue: null, backlog: null, uid: null, inode: m[7]!, owners: [], netns,
      origin: { source, line: i + 1 },
    });
  }
  return sockets;
}
