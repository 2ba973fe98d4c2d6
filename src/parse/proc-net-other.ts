/**
 * /proc/net/netlink and /proc/net/packet: only the inode matters to fdleak (a socket fd whose inode
 * is here is not an orphan). netlink header "sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode"
 * (inode last); packet header "sk RefCnt Type Proto Iface R Rmem User Inode" (inode last).
 */
import { InputError } from '../errors.js';
import type { Socket } from '../model/socket.js';
import { LineSink, STRICT } from '../util/skips.js';
import { readProcNetText } from './proc-net-inet.js';
import { MAX_LINE, quote, stripCr } from './text.js';

export type OtherTable = 'netlink' | 'packet';

/**
 * Pure: one record per row, with proto, inode and (netlink) the protocol number as detail.
 * `sink`: strict (live, the default) throws at a bad row; lenient (captured text) counts it.
 * `keep(inode)`: rows whose inode it rejects are passed over unchecked, as in parseProcNetInet.
 */
export function parseProcNetOther(
  text: string,
  source: string,
  table: OtherTable,
  netns: string | null = null,
  sink: LineSink = STRICT(),
  keep?: (inode: string) => boolean,
): Socket[] {
  const lines = text.split('\n');
  const isHeader = (line: string): boolean => /^sk\s+/.test(line) && /\bInode\s*$/.test(line);
  const header = lines[0] ?? '';
  if (!isHeader(header) && sink.strict) {
    throw new InputError(`expected the /proc/net/${table} header ending in "Inode"`, { source, line: 1, text: header });
  }
  const sockets: Socket[] = [];
  for (let i = 0; i < lines.length; i++) {
    const raw = stripCr(lines[i]!);
    if (raw.length > MAX_LINE) {
      sink.bad(`line longer than ${MAX_LINE} characters`, source, i + 1, raw);
      continue;
    }
    if (isHeader(raw)) continue;
    const cols = raw.trim().split(/\s+/);
    if (cols.length === 1 && cols[0] === '') continue;
    const inode = cols[cols.length - 1]!;
    if (keep !== undefined && cols.length >= 5 && !keep(inode)) continue;
    if (cols.length < 5 || !/^\d+$/.test(inode)) {
      sink.bad(`expected a decimal inode in the last column, found ${quote(inode)}`, source, i + 1, raw);
      continue;
    }
    sockets.push({
      proto: table, family: table, state: null, detail: table === 'netlink' ? `proto=${cols[1]}` : null,
      local: null, remote: null, rxQueue: null, txQueue: null, backlog: null, uid: null, inode,
      owners: [], netns, origin: { source, line: i + 1 },
    });
  }
  return sockets;
}
