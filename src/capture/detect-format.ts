/**
 * Which tool printed a capture, from its first meaningful lines. Leading blank lines, shell prompts
 * ("$ lsof -n") and comments ("# taken at ...") are passed over; lsof warnings ("lsof: WARNING: ...")
 * may precede lsof's header.
 */
import { InputError } from '../errors.js';
import type { Line } from './text-input.js';

export const FORMATS = ['lsof', 'lsof-F', 'ss', 'netstat', 'proc-net'] as const;
export type Format = (typeof FORMATS)[number];

const SS_STATE = /^(ESTAB|LISTEN|UNCONN|TIME-WAIT|CLOSE-WAIT|SYN-SENT|SYN-RECV|FIN-WAIT-1|FIN-WAIT-2|LAST-ACK|CLOSING|UNKNOWN)$/;
const SS_NETID = /^(tcp|udp|raw|u_str|u_dgr|u_seq|nl|p_raw|p_dgr|mptcp|icmp6|udplite|sctp|tipc|v_str|v_dgr|xdp)$/;

/** An lsof row: COMMAND PID [TID TASKCMD] [PPID PGID] USER FD TYPE, FD a number with mode/lock or a named fd, TYPE a known word. */
const LSOF_ROW = /^\S+(\s+\S+){0,2}?\s+\d+(\s+\d+\s+\S+)?(\s+\d+){0,2}\s+\S+\s+(\d+[rwu]?[rRwWuUNxX]?|\*\d{3}[rwu]?|cwd|rtd|txt|mem|DEL|mmap|NOFD)\s+(IPv4|IPv6|sock|unix|netlink|REG|DIR|CHR|BLK|FIFO|LINK|a_inode|unknown|raw|raw6|pack)(\s|$)/;

/** True for lines that are not part of any tool's output: blank, "$ cmd", "# note". */
export function isPreamble(text: string): boolean {
  return text.trim() === '' || /^\s*[$#]\s/.test(text) || /^\s*[$#]$/.test(text.trim());
}

/** The format whose header (or lsof -F process line) `text` is, or undefined. */
export function headerFormat(text: string): Format | undefined {
  const t = text.trimStart();
  if (/^COMMAND\s+PID\s/.test(t) && /\bFD\b/.test(t) && /\bNAME\s*$/.test(t)) return 'lsof';
  if (/^p\d+$/.test(t.trimEnd())) return 'lsof-F';
  if (/^(Netid\s+State|State\s+Recv-Q|Netid\s+Recv-Q|Recv-Q\s+Send-Q\s+Local Address:Port)/.test(t)) return 'ss';
  if (/^(Active (Internet connections|UNIX domain sockets|Bluetooth connections)|Aktive (Internetverbindungen|Sockets in der UNIX-Dom))/.test(t)) return 'netstat';
  if (/^Proto\s+Recv-Q\s+Send-Q\s+Local Address/.test(t) || /^Proto\s+(RefCnt\s+Flags|RefZ\S+\s+Flaggen)/.test(t)) return 'netstat';
  if (/^sl\s+local_address\s+rem(ote)?_address/.test(t) || /^Num\s+RefCount\s+Protocol\s+Flags/.test(t)) return 'proc-net';
  return undefined;
}

/** The format of one line, or undefined if it says nothing on its own. */
export function formatOfLine(text: string): Format | undefined {
  const header = headerFormat(text);
  if (header !== undefined) return header;
  const t = text.trimStart();
  const tokens = t.trim().split(/\s+/);
  // Header-less ss (-H): "[netid] STATE recv send local peer ..."
  const i = SS_NETID.test(tokens[0] ?? '') ? 1 : 0;
  if (SS_STATE.test(tokens[i] ?? '') && /^\d+$/.test(tokens[i + 1] ?? '') && /^\d+$/.test(tokens[i + 2] ?? '')) return 'ss';
  // Header-less netstat rows: "tcp 0 0 127.0.0.1:80 0.0.0.0:* LISTEN 12/nginx"
  if (/^(tcp6?|udp6?|raw6?|udpl6?)$/.test(tokens[0] ?? '') && /^\d+$/.test(tokens[1] ?? '') && /^\d+$/.test(tokens[2] ?? '') && (tokens[3] ?? '').includes(':')) return 'netstat';
  // Header-less lsof rows (`lsof -n | grep sock`): COMMAND PID [TID TASKCMD] USER FD TYPE ...
  if (LSOF_ROW.test(t)) return 'lsof';
  // Header-less /proc/net/tcp rows: "0: 0100007F:1F90 00000000:0000 0A ..."
  if (/^\d+:$/.test(tokens[0] ?? '') && /^[0-9A-F]{8,32}:[0-9A-F]{4}$/.test(tokens[1] ?? '')) return 'proc-net';
  return undefined;
}

/**
 * Detects the format from the first lines; `forced` (from --format) wins. Throws an InputError
 * naming the source and the first meaningful line when nothing matches.
 */
export function detectFormat(head: readonly Line[], source: string, forced?: Format): Format {
  if (forced !== undefined) return forced;
  let firstMeaningful: Line | undefined;
  for (const line of head) {
    if (isPreamble(line.text) || /^lsof: /.test(line.text)) continue;
    firstMeaningful ??= line;
    const format = formatOfLine(line.text);
    if (format !== undefined) return format;
    if (line.no - firstMeaningful.no >= 5) break;
  }
  if (firstMeaningful === undefined) throw new InputError('no data: only blank, comment or warning lines', { source });
  throw new InputError(
    'not a format fdleak reads: expected lsof, lsof -F, ss, netstat or /proc/net/{tcp,tcp6,udp,udp6,unix} text (use --format to force one)',
    { source, line: firstMeaningful.no, text: firstMeaningful.text },
  );
}
