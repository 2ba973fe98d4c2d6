/**
 * Several captures in one stream (`cat lsof.txt ss.txt | fdleak analyze`): where the text changes
 * format. A change is a header of another format (ss's "State Recv-Q ...", netstat's "Active Internet
 * connections", lsof's "COMMAND PID ...", /proc/net's "sl local_address ...") or an lsof -F process
 * line ("p123") in text that is not lsof -F. Rows alone never switch: a header is unmistakable, a
 * row shape is not. A chunk is searched for the few words every header holds (indexOf), and only
 * the lines holding one are tested. (lsof text, the big captures, is not searched: another tool's
 * header is a bad row to lsof's column reader, which stops there itself: LsofReader.readUntil.)
 */
import type { Format } from './detect-format.js';
import { headerFormat } from './detect-format.js';
import type { Chunk } from './text-input.js';

/**
 * A word each header holds: ss's and netstat's inet headers "Recv-Q", netstat's unix header "RefCnt"
 * ("RefZ\u00e4h" in German), /proc/net/unix's "RefCount", /proc/net/tcp's "local_address", lsof's
 * "COMMAND". Each costs a scan of every chunk, so there are few: a netstat title ("Active Internet
 * connections") is not looked for, the header line under it is.
 */
const MARKERS = ['Recv-Q', 'RefC', 'RefZ', 'local_address'];

export interface FormatChange {
  /** Offset in the chunk's text where the line of the new format starts. */
  at: number;
  format: Format;
}

/** The first line of `chunk` that starts another format than `current`, or null. */
export function formatChange(chunk: Chunk, current: Format): FormatChange | null {
  const text = chunk.text;
  let bestAt = Infinity;
  let bestFormat: Format | null = null;
  const consider = (lineStart: number): void => {
    if (lineStart >= bestAt) return;
    let end = text.indexOf('\n', lineStart);
    if (end < 0) end = text.length;
    const format = headerFormat(text.slice(lineStart, end));
    if (format !== undefined && format !== current) {
      bestAt = lineStart;
      bestFormat = format;
    }
  };
  for (const marker of [...MARKERS, 'COMMAND']) {
    for (let i = text.indexOf(marker); i >= 0 && i < bestAt; i = text.indexOf(marker, i + marker.length)) {
      consider(text.lastIndexOf('\n', i) + 1);
    }
  }
  if (current !== 'lsof-F') {
    // "p" and digits alone on a line: lsof -F's process set
    const digitAt = (i: number): boolean => { const c = text.charCodeAt(i); return c >= 48 && c <= 57; };
    if (text.startsWith('p') && digitAt(1)) consider(0);
    for (let i = text.indexOf('\np'); i >= 0 && i + 1 < bestAt; i = text.indexOf('\np', i + 2)) {
      if (digitAt(i + 2)) consider(i + 1);
    }
  }
  return bestFormat === null ? null : { at: bestAt, format: bestFormat };
}
