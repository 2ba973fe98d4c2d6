/**
 * The reader of lsof's default column listing (`lsof -nP -i`, `lsof -p PID`, list-everything
 * `lsof -nP` with TID/TASKCMD, `-Tqs`, `-K`, `-R`/`-g`/`-l`). Format: lsof(8), "OUTPUT". Quirks:
 * - columns are padded per run and DEVICE, SIZE/OFF, NODE may be blank: rows are read by tokens from
 *   the left (COMMAND PID [TID TASKCMD] [PPID] [PGID] USER FD TYPE), then by what TYPE implies;
 * - TID/TASKCMD (list-everything mode, -K) are blank on process rows and filled on thread rows, which
 *   repeat the process's fds: one (pid, fd) is one fd;
 * - COMMAND and TASKCMD escape spaces and control bytes as \xNN ("udp\x20la"), cut to 9 chars without +c;
 * - IPv4/IPv6 rows: DEVICE is the socket inode, NODE the protocol, NAME "a:p->b:p (STATE QR=1 QS=0)";
 *   v4-mapped sockets are TYPE IPv6 with plain IPv4 text; without -n/-P names ("localhost:mysql") are
 *   kept; UDP rows have no state and end in a space;
 * - sock rows are sockets lsof found in no /proc/net table of its own netns ("protocol: TCP");
 * - unix rows: NAME "[path] type=STREAM (CONNECTED)"; lsof cuts a path at its first space;
 * - "lsof: WARNING: ..." lines and their indented continuation are skipped; NOFD rows (fd directory
 *   unreadable) mark the process's fd table incomplete;
 * - fd numbers of 10000 and up read "*000r", "*001r", ... (fd-numbers.ts);
 * - files unlinked while open end their NAME in " (deleted)"; `lsof +L`/`+L1` (only those) add an
 *   NLINK column after SIZE/OFF.
 *
 * One reader, fast on big captures: a row is read in place, by byte values and offsets into the
 * bytes the text decodes from (latin1: offset i is character i of the text, which the slower paths
 * slice), tokens found only as far as needed. Most rows of a big capture are files (mem, txt, REG,
 * FIFO, ...) or a thread's repeat of an fd already read: their fd is counted (and its target tallied,
 * targets.ts) without an object per row, nor a string unless the target is new. A socket row, a
 * deleted file (or any row, when every fd is kept) is then read on from its TYPE into an LsofFile
 * for the builder. All scratch state belongs to the reader: readers are independent.
 * This file is over 400 lines because the row reader is one piece: splitting it would scatter the
 * offsets it shares.
 */
import type { FdKind } from '../../model/fd.js';
import { detach } from '../../capture/text-input.js';
import { isPreamble } from '../../capture/detect-format.js';
import { isSpace, MAX_LINE, quote } from '../text.js';
import type { Builder } from './builder.js';
import { plainInodeShape } from './builder.js';
import type { LsofFile } from './file.js';
import { DELETED, FILE_TYPES, SOCKET_TYPES, splitInetName } from './file.js';
import type { ProcState } from './processes.js';
import { RowMemo } from './row-memo.js';
import { tallyKey, Targets } from './targets.js';
import { unescapeLsof } from './unescape.js';

/** Column layout from a header line "COMMAND PID [TID TASKCMD] [PPID] [PGID] USER FD TYPE ...". */
interface Layout {
  /** TID/TASKCMD columns: true (header says so), false (header says not), null (no header seen). */
  tasks: boolean | null;
  /** Numeric columns between PID (or TASKCMD) and USER: PPID, PGID. */
  extra: number;
  /** Where the right-aligned TID column ends in the header: breaks ties on odd rows. */
  tidEnd: number | null;
  /** An NLINK column after SIZE/OFF (`lsof +L`, `+L1`). */
  nlink: boolean;
}

const NO_LAYOUT: Layout = { tasks: null, extra: 0, tidEnd: null, nlink: false };

/** The layout a header line ("COMMAND PID ...") gives. */
function layoutOf(raw: string): Layout {
  const names = raw.trim().split(/\s+/);
  const user = names.indexOf('USER');
  const tid = /\bTID\b/.exec(raw);
  return {
    tasks: tid !== null,
    extra: user < 0 ? 0 : names.slice(2, user).filter((n) => n === 'PPID' || n === 'PGID').length,
    tidEnd: tid === null ? null : tid.index + 3,
    nlink: names.includes('NLINK'),
  };
}

const isDigit = (c: number): boolean => c >= 48 && c <= 57;

/** bytes[s, e) is /^\d{1,10}$/. */
function isNumIn(bytes: Uint8Array, s: number, e: number): boolean {
  if (e - s > 10 || e === s) return false;
  for (let j = s; j < e; j++) if (!isDigit(bytes[j]!)) return false;
  return true;
}

function numIn(bytes: Uint8Array, s: number, e: number): number {
  let v = 0;
  for (let j = s; j < e; j++) v = v * 10 + bytes[j]! - 48;
  return v;
}

/** bytes at s are the word w (ASCII). */
function wordIn(bytes: Uint8Array, s: number, w: string): boolean {
  for (let j = 0; j < w.length; j++) if (bytes[s + j] !== w.charCodeAt(j)) return false;
  return true;
}

const NO_BYTES = new Uint8Array(1);

/**
 * `text` as the bytes it decodes from (latin1), and a newline after them: for text that came with
 * none (a string given whole, a chunk whose text was changed or held back). A character past
 * latin1 (text read as UTF-8 by a caller) becomes a space if it is one (isSpace), else 0xff: no
 * digit, no word of lsof's, so the rows that hold one read as they would from the text.
 */
function bytesOf(text: string): Uint8Array {
  const bytes = Buffer.from(`${text}\n`, 'latin1');
  if (/[^\u0000-\u00ff]/.test(text)) {
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c > 0xff) bytes[i] = isSpace(c) ? 32 : 0xff;
    }
  }
  return bytes;
}

const FD_BAD = 0;
const FD_NUM = 1;
const FD_TRUNC = 2;
const FD_NAMED = 3;
const FD_NOFD = 4;

function isLock(c: number): boolean {
  return c === 114 || c === 82 || c === 119 || c === 87 || c === 117 || c === 85 || c === 78 || c === 120 || c === 88;
}

/** [rwu]?[rRwWuUNxX]? at bytes[s, e): the mode and lock characters after an FD number. */
function isModeLock(bytes: Uint8Array, s: number, e: number): boolean {
  if (e === s) return true;
  if (e - s === 1) return isLock(bytes[s]!);
  if (e - s === 2) { const c = bytes[s]!; return (c === 114 || c === 119 || c === 117) && isLock(bytes[s + 1]!); }
  return false;
}

/** Four characters (or fewer, at e) packed in one number, to compare words by value. */
function word4(text: string, s: number, e: number): number {
  const n = e - s;
  return (n > 0 ? text.charCodeAt(s) : 0) * 16777216 + (n > 1 ? text.charCodeAt(s + 1) : 0) * 65536 +
    (n > 2 ? text.charCodeAt(s + 2) : 0) * 256 + (n > 3 ? text.charCodeAt(s + 3) : 0);
}
const w4 = (w: string): number => word4(w, 0, w.length);
const W_MEM = w4('mem');
const W_CWD = w4('cwd');
const W_RTD = w4('rtd');
const W_TXT = w4('txt');
const W_DEL = w4('DEL');
/** NON_FD's words (file.ts). */
const NAMED_FDS = new Set(['ltx', 'v86', 'err', 'jld', 'm86', 'Mxx', 'pd', 'tr', 'mmap', 'mem', 'cwd', 'rtd', 'txt', 'DEL'].map(w4));
const W_NOFD = w4('NOFD');

/** bytes[s, e) is a TYPE word: IPv4, a_inode, x.25, unknown, or lsof's 4-hex-digit code for unknown modes. */
function isTypeAt(bytes: Uint8Array, s: number, e: number): boolean {
  const c = bytes[s]!;
  if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122)) {
    for (let j = s + 1; j < e; j++) {
      const d = bytes[j]!;
      if (!((d >= 65 && d <= 90) || (d >= 97 && d <= 122) || isDigit(d) || d === 95 || d === 46)) return false;
    }
    return true;
  }
  if (e - s !== 4) return false;
  for (let j = s; j < e; j++) {
    const d = bytes[j]!;
    if (!(isDigit(d) || (d >= 65 && d <= 70) || (d >= 97 && d <= 102))) return false;
  }
  return true;
}

/** text[s, e) is /^[A-Z][A-Z0-9]*$/: a protocol in NODE (TCP, UDP, UDPLITE). */
function isProtocolAt(text: string, s: number, e: number): boolean {
  let c = text.charCodeAt(s);
  if (e === s || c < 65 || c > 90) return false;
  for (let j = s + 1; j < e; j++) {
    c = text.charCodeAt(j);
    if (!((c >= 65 && c <= 90) || isDigit(c))) return false;
  }
  return true;
}

const T_OTHER = 0;
const T_FILE = 1;
const T_FIFO = 2;
const T_ANON = 3;
const T_SOCKET = 4;
/** T_OTHER, from a word typeCode did not recognise: whether it is a TYPE word at all is not known. */
const T_UNCHECKED = 5;
const KIND_OF: readonly FdKind[] = ['other', 'file', 'file', 'anon_inode', 'socket', 'other'];

/**
 * typeCode's words by length and first byte ((length << 8) | byte): each word with its code. Made
 * from the sets the builder reads rows by (file.ts SOCKET_TYPES, FILE_TYPES), so the two cannot
 * drift apart, and the three words of their own.
 */
const TYPE_WORDS = new Map<number, Array<readonly [string, number]>>();
for (const [words, code] of [[SOCKET_TYPES, T_SOCKET], [FILE_TYPES, T_FILE], [['FIFO'], T_FIFO], [['a_inode'], T_ANON], [['unknown'], T_OTHER]] as const) {
  for (const w of words) {
    const key = (w.length << 8) | w.charCodeAt(0);
    const list = TYPE_WORDS.get(key);
    if (list === undefined) TYPE_WORDS.set(key, [[w, code]]);
    else list.push([w, code]);
  }
}

/**
 * What the builder makes of the TYPE word bytes[s, e): SOCKET_TYPES, FIFO, FILE_TYPES, a_inode,
 * "unknown" (lsof could not stat the fd: common in captures); T_UNCHECKED for any other.
 */
function typeCode(bytes: Uint8Array, s: number, e: number): number {
  const words = TYPE_WORDS.get(((e - s) << 8) | bytes[s]!);
  if (words === undefined) return T_UNCHECKED;
  for (let i = 0; i < words.length; i++) if (wordIn(bytes, s, words[i]![0])) return words[i]![1];
  return T_UNCHECKED;
}

/**
 * The head (COMMAND PID [TID TASKCMD] [PPID PGID] USER) of the last row read whole, when it alone
 * decided how that row reads: a process's or thread's rows repeat it byte for byte, so a row that
 * starts with it needs only its FD and TYPE read. `at`: where that row starts in the bytes read
 * now (a head is the last text's), `len`: the head's length there.
 */
interface Head { pid: number; tid: number | null; u: number; cmdLen: number; uid: number | null; at: number; len: number }

/** Thrown (and caught in read()) to stop at the start of another capture. */
const STOP = Symbol('stop');

export class ColumnsReader {
  private layout: Layout = NO_LAYOUT;
  private afterWarning = false;
  private head: Head | null = null;
  // The row being read: its text (the piece) and end, token offsets found so far.
  private text = '';
  /**
   * The bytes `text` decodes from, byte i its character i, and a newline after them (Chunk.bytes,
   * or bytesOf the text): the hot paths below read these. Why: on the 5M-line socket-heavy capture
   * the row readers' loads of characters were ~40% of the time (perf), and a typed array's element
   * loads for less than a string's character (a loop over 100 MB: 106-152 ms against 202-249).
   */
  private bytes: Uint8Array = NO_BYTES;
  private end = 0;
  private scan = 0;
  private tokens = 0;
  private ts = new Int32Array(32);
  private te = new Int32Array(32);
  /** The last FD word read by fdClass: its number (or last 3 digits of "*NNN") and where its digits end. */
  private fdValue = 0;
  private fdEnd = 0;
  /** Tokens of the last fileColumns(): -1 where the row has none. */
  private deviceAt = -1;
  private sizeAt = -1;
  private nodeAt = -1;
  private nameAt = -1;
  private lastTid: number | null = null;
  /** The TID of the first row read (undefined: none yet), for joins() below. */
  private firstTid: number | null | undefined = undefined;
  private stop: ((line: string) => boolean) | null = null;
  private rowStart = 0;
  private stoppedAt = -1;
  private readonly memo = new RowMemo();
  /** The last header line: the rows the memo holds were read under it. */
  private header = '';
  private readonly replayRow = (k: number): boolean => this.replay(k);

  constructor(private readonly b: Builder) {}

  /**
   * Whether `next`, a reader that read the rows that follow this one's (another thread's, from a
   * process's first row, after the same header line only), read them as this one would have: the
   * same column layout, and no thread of its first row taken for the last one read here.
   */
  joins(next: ColumnsReader): boolean {
    const { layout: a } = this;
    const { layout: b } = next;
    const sameLayout = a.tasks === b.tasks && a.extra === b.extra && a.tidEnd === b.tidEnd && a.nlink === b.nlink;
    return sameLayout && !this.afterWarning && (next.firstTid === null || next.firstTid === undefined || next.firstTid !== this.lastTid);
  }

  /** The column layout and the last row's thread, for joins() on another thread. */
  carried(): { layout: Layout; firstTid: number | null | undefined } {
    return { layout: this.layout, firstTid: this.firstTid };
  }

  /** A reader of rows that follow, as another thread's carried() describes it (joins() only). */
  static carriedAs(c: { layout: Layout; firstTid: number | null | undefined }): ColumnsReader {
    const r = Object.create(ColumnsReader.prototype) as ColumnsReader;
    r.layout = c.layout;
    r.firstTid = c.firstTid;
    return r;
  }

  /**
   * Reads `text` (whole lines, the first numbered `firstLine`) into the builder. `stop` is asked about
   * each line that is no lsof row: if it says so (another tool's header: a second capture in the
   * stream), reading stops before that line; returns its offset in `text`, or -1.
   */
  read(text: string, firstLine: number, stop: ((line: string) => boolean) | null = null, bytes?: Uint8Array): number {
    this.stop = stop;
    this.bytes = bytes ?? bytesOf(text);
    let at = -1;
    try {
      this.readLines(text, firstLine);
    } catch (error) {
      if (error !== STOP) throw error;
      at = this.stoppedAt;
    }
    this.head = null;
    this.text = '';
    this.bytes = NO_BYTES; // a view of a read's buffer: not kept
    return at;
  }

  private readLines(text: string, firstLine: number): void {
    const { b } = this;
    const end = text.length;
    let lineNo = firstLine - 1;
    this.head = null; // a head is a slice of the last text
    for (let ls = 0; ls <= end; ) {
      if (this.memo.expecting && !this.afterWarning) {
        // rows met before, in the order met before: done again as they are (row-memo.ts)
        const rows = this.memo.replayRows(text, ls, end, this.replayRow);
        if (rows > 0) {
          lineNo += rows;
          ls = this.memo.after;
          continue;
        }
      }
      let nl = text.indexOf('\n', ls);
      if (nl < 0) nl = end;
      lineNo++;
      const start = ls;
      ls = nl + 1;
      let le = nl;
      if (le > start && text.charCodeAt(le - 1) === 13) le--; // CRLF
      if (le === start) continue;
      const c0 = text.charCodeAt(start);
      if ((isSpace(c0) || c0 === 36 || c0 === 35) && isPreamble(text.slice(start, le))) continue; // "$", "#"
      const wasWarning = this.afterWarning;
      this.afterWarning = false;
      if (le - start > MAX_LINE) {
        b.bad(lineNo, text.slice(start, le), `line longer than ${MAX_LINE} characters`);
        continue;
      }
      if (c0 === 108 && text.startsWith('lsof: ', start)) { this.afterWarning = true; continue; } // "lsof: WARNING: can't stat() ..."
      if (isSpace(c0) && (wasWarning || /Output information may be incomplete/.test(text.slice(start, le)))) { this.afterWarning = true; continue; }
      if (c0 === 67 && text.startsWith('COMMAND', start)) {
        const raw = text.slice(start, le);
        if (/^COMMAND\s+PID(\s|$)/.test(raw)) {
          this.layout = layoutOf(raw);
          if (this.layout.tasks) b.tasksListed = true;
          this.head = null;
          // the same header again (`cat lsof.txt lsof.txt`): rows read as before, the memo holds
          if (raw !== this.header) this.memo.clear();
          this.header = detach(raw);
          continue;
        }
      }
      this.rowStart = start;
      this.row(text, start, le, lineNo);
    }
  }

  /** A line that is no lsof row: reported, unless `stop` ends the reading there. */
  private bad(lineNo: number, line: string, reason: string): void {
    if (this.stop !== null && this.stop(line)) {
      this.stoppedAt = this.rowStart;
      throw STOP;
    }
    this.b.bad(lineNo, line, reason);
  }

  /** Whether the row has a token i, reading only as far as that. */
  private has(i: number): boolean {
    const { bytes, end } = this;
    while (this.tokens <= i) {
      let j = this.scan;
      while (j < end && isSpace(bytes[j]!)) j++;
      if (j >= end) { this.scan = j; return false; }
      if (this.tokens === this.ts.length) this.grow();
      this.ts[this.tokens] = j;
      while (j < end && !isSpace(bytes[j]!)) j++;
      this.te[this.tokens++] = j;
      this.scan = j;
    }
    return true;
  }

  private grow(): void {
    const ts = new Int32Array(this.ts.length * 2);
    const te = new Int32Array(this.ts.length * 2);
    ts.set(this.ts);
    te.set(this.te);
    this.ts = ts;
    this.te = te;
  }

  private isNum(i: number): boolean {
    return this.has(i) && isNumIn(this.bytes, this.ts[i]!, this.te[i]!);
  }

  private num(i: number): number {
    return numIn(this.bytes, this.ts[i]!, this.te[i]!);
  }

  private tok(i: number): string {
    return this.text.slice(this.ts[i]!, this.te[i]!);
  }

  /** text[s, e) as an FD: a number (in fdValue), "*NNN" (NNN in fdValue), a word of NON_FD, NOFD, or FD_BAD. */
  private fdClassAt(s: number, e: number): number {
    const bytes = this.bytes;
    const c = bytes[s]!;
    if (isDigit(c)) {
      let j = s;
      let v = 0;
      for (let d = c; j < e && isDigit(d); d = bytes[++j]!) v = v * 10 + d - 48;
      if (j - s > 10 || !isModeLock(bytes, j, e)) return FD_BAD;
      this.fdValue = v;
      this.fdEnd = j;
      return FD_NUM;
    }
    if (c === 42) { // "*NNN"
      if (e - s < 4 || !isDigit(bytes[s + 1]!) || !isDigit(bytes[s + 2]!) || !isDigit(bytes[s + 3]!) || !isModeLock(bytes, s + 4, e)) return FD_BAD;
      this.fdValue = (bytes[s + 1]! - 48) * 100 + (bytes[s + 2]! - 48) * 10 + bytes[s + 3]! - 48;
      this.fdEnd = s + 4;
      return FD_TRUNC;
    }
    if (e - s > 4 || e - s < 2) return FD_BAD;
    const w = word4(this.text, s, e);
    if (w === W_MEM || w === W_CWD || w === W_RTD || w === W_TXT || w === W_DEL) return FD_NAMED;
    return w === W_NOFD ? FD_NOFD : NAMED_FDS.has(w) ? FD_NAMED : FD_BAD;
  }

  private fdClass(i: number): number {
    return this.has(i) ? this.fdClassAt(this.ts[i]!, this.te[i]!) : FD_BAD;
  }

  private isTypeTok(i: number): boolean {
    return this.has(i) && isTypeAt(this.bytes, this.ts[i]!, this.te[i]!);
  }

  /** USER FD TYPE at token i (or USER NOFD); the FD's class, or FD_BAD. */
  private userFdType(i: number): number {
    if (!this.has(i)) return FD_BAD;
    const fd = this.fdClass(i + 1);
    return fd !== FD_BAD && (fd === FD_NOFD || this.isTypeTok(i + 2)) ? fd : FD_BAD;
  }

  /** Token i is /^(\d+,\d+|0x[0-9a-fA-F]+)$/ (DEVICE) or, with `size`, /^(0t\d+|0x[0-9a-fA-F]+|\d+)$/ (SIZE/OFF). */
  private isDeviceOrSize(i: number, size: boolean): boolean {
    if (!this.has(i)) return false;
    const bytes = this.bytes;
    const s = this.ts[i]!;
    const e = this.te[i]!;
    const c1 = e - s > 1 ? bytes[s + 1]! : -1;
    if (bytes[s] === 48 && (c1 === 120 || (size && c1 === 116)) && e - s > 2) { // 0x..., 0t...
      for (let j = s + 2; j < e; j++) {
        const d = bytes[j]!;
        if (!(isDigit(d) || (c1 === 120 && ((d >= 65 && d <= 70) || (d >= 97 && d <= 102))))) return false;
      }
      return true;
    }
    let j = s;
    while (j < e && isDigit(bytes[j]!)) j++;
    if (j === s) return false;
    if (j === e) return size;
    if (size || bytes[j] !== 44) return false; // "maj,min"
    const k = ++j;
    while (j < e && isDigit(bytes[j]!)) j++;
    return j > k && j === e;
  }

  /** The head of the last row, if this row starts with it: its FD and TYPE are then tokens u+1, u+2. */
  private sameHead(ls: number, le: number): Head | null {
    const head = this.head;
    if (head === null) return null;
    const { bytes } = this;
    const n = head.len;
    const h = ls + n;
    if (h >= le || !isSpace(bytes[h]!)) return null;
    // the head's bytes are where its row is, earlier in these bytes (a head is the last text's)
    for (let j = 0, a = head.at; j < n; j++) if (bytes[ls + j] !== bytes[a + j]) return null;
    let i = h;
    while (i < le && isSpace(bytes[i]!)) i++;
    const fs = i;
    while (i < le && !isSpace(bytes[i]!)) i++;
    const fe = i;
    while (i < le && isSpace(bytes[i]!)) i++;
    if (i >= le) return null;
    const ts = i;
    while (i < le && !isSpace(bytes[i]!)) i++;
    const u = head.u;
    while (this.ts.length < u + 3) this.grow();
    this.ts[u + 1] = fs;
    this.te[u + 1] = fe;
    this.ts[u + 2] = ts;
    this.te[u + 2] = i;
    this.tokens = u + 3;
    this.scan = i;
    return head;
  }

  /**
   * The fast path of headInet(): on (the default), or off to check that rows read the same through
   * the general path (test/parse/lsof/columns-fast.test.ts).
   */
  static fastRows = true;

  /**
   * A row with the last row's head (sameHead() found it, and its FD and TYPE), when it is an IPv4
   * row with a plain or "*NNN" FD (most rows of a socket-heavy capture): read by inet() straight
   * away, as row() and inPlace() would come to it. Whatever else (another FD or TYPE, a row inet()
   * declines, a row seen before: sameTail) returns false before anything is counted, and row()
   * reads it the general way from the same tokens. row()'s dispatch cost ~0.1 us a row of the
   * 1M-line socket-heavy capture (--cpu-prof self time of row(), typeCode(), inPlace()).
   */
  private headInet(ls: number, le: number, head: Head): boolean {
    const { text, bytes, b } = this;
    const u = head.u;
    const t = this.ts[u + 2]!;
    const te = this.te[u + 2]!;
    if (te - t !== 4 || bytes[t] !== 73 || bytes[t + 1] !== 80 || bytes[t + 2] !== 118 || bytes[t + 3] !== 52) return false; // "IPv4"
    if (head.pid === 0 || !b.folding || b.keepAll) return false;
    const fd = this.fdClassAt(this.ts[u + 1]!, this.te[u + 1]!);
    if (fd !== FD_NUM && fd !== FD_TRUNC) return false;
    if (fd === FD_NUM && b.table.sameTail(head.pid, this.fdValue, text, t, le)) return false;
    return this.inet(ls, le, head.pid, head.tid, t, te, head.cmdLen, head.uid, fd);
  }

  /** One data row, text[ls, le). */
  private row(text: string, ls: number, le: number, lineNo: number): void {
    const { b } = this;
    this.text = text;
    this.end = le;
    let pid: number;
    let tid: number | null;
    let u: number;
    let cmdLen: number;
    let uid: number | null;
    let fd = FD_BAD;
    let type = -1;
    const head = this.sameHead(ls, le);
    if (head !== null && ColumnsReader.fastRows && this.headInet(ls, le, head)) return;
    if (head !== null) {
      fd = this.fdClassAt(this.ts[head.u + 1]!, this.te[head.u + 1]!);
      const ts = this.ts[head.u + 2]!;
      const te = this.te[head.u + 2]!;
      if (fd !== FD_BAD && fd !== FD_NOFD) {
        type = typeCode(this.bytes, ts, te);
        if (type === T_UNCHECKED && !isTypeAt(this.bytes, ts, te)) fd = FD_BAD;
      }
    }
    if (head !== null && fd !== FD_BAD && fd !== FD_NOFD) {
      // The same head as the last row: the same PID, TID, USER; FD and TYPE decide the rest.
      ({ pid, tid, u, cmdLen, uid } = head);
    } else {
      this.head = null;
      this.scan = ls;
      this.tokens = 0;
      // lsof escapes spaces in COMMAND (\x20), but an older or patched one may not: allow a few words.
      let p = 1;
      while (p <= 3 && this.has(p) && !this.isNum(p)) p++;
      if (!this.isNum(p)) return this.bad(lineNo, text.slice(ls, le), `expected a numeric PID after COMMAND, found ${quote(this.has(1) ? this.tok(1) : '')}`);
      pid = this.num(p);
      const layout = this.layout;
      const extra = layout.extra;
      // After PID: [TID TASKCMD] (blank on process rows), PPID/PGID if asked for, then USER FD TYPE.
      const k = p + 1;
      const fd1 = this.userFdType(k + extra);
      const value1 = this.fdValue;
      const end1 = this.fdEnd;
      const plain = fd1 !== FD_BAD;
      const tidNumeric = layout.tasks !== false && this.isNum(k);
      const fd2 = tidNumeric ? this.userFdType(k + 2 + extra) : FD_BAD;
      const threaded = fd2 !== FD_BAD;
      // Both readings fit only with a numeric USER (-l) on odd rows: the TID column's alignment decides.
      const aligned = layout.tidEnd !== null && this.has(k) && this.te[k]! - ls === layout.tidEnd;
      const isThread = threaded && (!plain || (layout.tasks === true && (layout.tidEnd === null || aligned)));
      tid = null;
      if (isThread) {
        tid = this.num(k);
        u = k + 2 + extra;
        fd = fd2;
      } else if (plain) {
        u = k + extra;
        fd = fd1;
        this.fdValue = value1;
        this.fdEnd = end1;
      } else {
        return this.bad(lineNo, text.slice(ls, le), 'expected USER FD TYPE after PID' + (layout.tasks === false ? '' : ' [TID TASKCMD]'));
      }
      for (let x = isThread ? k + 2 : k; x < u; x++) if (!this.isNum(x)) return this.bad(lineNo, text.slice(ls, le), 'expected numeric PPID/PGID columns');
      cmdLen = this.ts[p]! - ls;
      uid = this.isNum(u) ? this.num(u) : null;
      // The head alone decided between the readings when the other one failed within it: a thread
      // row's PID-then-USER reading fails at TASKCMD or USER; a process row's TID reading at USER.
      if (fd !== FD_NOFD && (isThread ? !plain : !tidNumeric)) this.head = { pid, tid, u, cmdLen, uid, at: ls, len: this.te[u]! - ls };
      if (fd !== FD_NOFD) type = typeCode(this.bytes, this.ts[u + 2]!, this.te[u + 2]!);
    }
    let fdNo: number | null = null;
    if (fd === FD_NUM) fdNo = this.fdValue;
    // A file row repeating an fd this input listed (a thread's row; a capture pasted twice): read no
    // further (its NAME, " (deleted)", a FIFO's "pipe" change nothing then), as count() would take it.
    // The 1M-line "as is" bench (rows repeat): cpu 0.84x, paired (7 runs, load ~9).
    if (fdNo !== null && type !== T_SOCKET && !b.keepAll) {
      const proc = b.table.peek(pid);
      if (proc !== undefined && proc.fds.get(fdNo) === b.table.input) {
        this.memo.keep(text, ls, le, pid, tid, fdNo, false);
        this.thread(proc, tid);
        b.numbers.listed(pid, tid, fdNo);
        return;
      }
    }
    // A row the builder must read whole: a socket (unless a thread's row repeating one read before:
    // the same text from TYPE on reads the same), a deleted file (kept), NOFD, PID 0 (reported there),
    // every row when all fds are kept.
    if (fd === FD_NOFD || pid === 0 || b.keepAll || type === T_SOCKET || (type === T_FILE && fd !== FD_NAMED && this.endsDeleted(le))) {
      const ts = this.ts[u + 2]!;
      if (type === T_SOCKET && pid !== 0 && fdNo !== null && b.table.sameTail(pid, fdNo, text, ts, le)) {
        this.memo.keep(text, ls, le, pid, tid, fdNo, true);
        b.numbers.listed(pid, tid, fdNo);
        return;
      }
      // a folded capture's plain socket row (most rows of a big one): read in place
      // (and "*NNN" fds too: a 15,000-socket process lists a third of its rows so)
      if (type === T_SOCKET && (fd === FD_NUM || fd === FD_TRUNC) && pid !== 0 && b.folding && !b.keepAll && this.inPlace(ls, le, pid, tid, u, cmdLen, uid, fd)) return;
      return this.whole(ls, le, lineNo, { pid, tid, u, cmdLen, uid }, fd);
    }
    if (fd === FD_TRUNC) fdNo = b.numbers.truncated(pid, tid, this.fdValue);
    let kind = KIND_OF[type]!;
    if (type === T_FIFO) {
      // a pipe's NAME is "pipe"
      this.fileColumns(u + 3, false);
      const n = this.nameAt;
      if (n >= 0 && !this.has(n + 1) && this.te[n]! - this.ts[n]! === 4 && text.startsWith('pipe', this.ts[n]!)) kind = 'pipe';
    }
    let proc = b.table.peek(pid);
    // a row with no fd number (cwd, txt, mem) of a process read before: done again, it adds its thread only
    if (proc !== undefined && fd === FD_NAMED) this.memo.named(text, ls, le, pid, tid);
    proc ??= b.table.create(pid, detach(unescapeLsof(text.slice(ls, ls + cmdLen).trim())), uid);
    this.thread(proc, tid);
    if (b.count(proc, tid, fdNo, kind) && fdNo! > 2 && (type === T_FILE || type === T_ANON || type === T_FIFO)) {
      if (type !== T_FIFO) this.fileColumns(u + 3, false);
      this.tally(proc, kind);
    }
  }

  /**
   * Row k of the memo met again: what row() made of it the first time, done again (the same checks
   * on what may have changed since: that this input listed the fd, a socket's tail still kept; a
   * row with no fd number adds its thread). Measured on the 1M-line "as is" capture (rows repeat
   * whole every 41,824 lines; 0.9M rows met so): see row-memo.ts.
   */
  private replay(k: number): boolean {
    const { b, memo } = this;
    const pid = memo.pids[k]!;
    const fdNo = memo.fds[k]!;
    const t = memo.tids[k]!;
    const tid = t < 0 ? null : t;
    const proc = b.table.peek(pid);
    if (proc === undefined) return false;
    if (fdNo < 0) return this.thread(proc, tid), true; // a row with no fd number (RowMemo.named)
    if (proc.fds.get(fdNo) !== b.table.input) return false;
    if (!memo.sockets[k]) this.thread(proc, tid);
    else if (proc.tails?.[fdNo] === undefined) return false;
    b.numbers.listed(pid, tid, fdNo);
    return true;
  }

  /** The row's thread, added to its process: a thread's rows are contiguous, its tid is added once per run of them. */
  private thread(proc: ProcState, tid: number | null): void {
    if (this.firstTid === undefined) this.firstTid = tid;
    if (tid !== null && tid !== proc.process.pid && tid !== this.lastTid) (proc.tids ??= new Set()).add(tid);
    this.lastTid = tid;
  }

  /**
   * A socket row of a folded capture read in place, straight into the fold (SocketSink tcpRow,
   * tableRow) or as the fd record add() would make: what whole() and the builder make of it,
   * without the LsofFile, the Socket and their strings. The plain rows of a big capture: IPv4 TCP
   * in ESTABLISHED or CLOSE_WAIT, unix, sock. Anything else (another shape, names, queues, another
   * state, a socket met as a record or in another process) returns false, and the row is read whole.
   * Measured on the 1M-line socket-heavy bench: whole() took ~4 us a unix or sock row, the in-place
   * read of a TCP row with a Socket object ~1 us; without objects a row costs well under that.
   */
  private inPlace(ls: number, le: number, pid: number, tid: number | null, u: number, cmdLen: number, uid: number | null, fd: number): boolean {
    const { bytes } = this;
    const t = this.ts[u + 2]!;
    const te = this.te[u + 2]!;
    if (te - t !== 4) return false;
    const c = bytes[t]!;
    if (c === 73) return bytes[t + 3] === 52 && this.inet(ls, le, pid, tid, t, te, cmdLen, uid, fd); // "IPv4"
    if ((c !== 117 && c !== 115) || !this.has(u + 6)) return false;
    const unix = c === 117 && wordIn(bytes, t, 'unix');
    if (!unix && !wordIn(bytes, t, 'sock')) return false;
    // DEVICE SIZE/OFF NODE NAME, as fileColumns() reads them (no NLINK column)
    if (this.layout.nlink || !this.isDeviceOrSize(u + 3, false) || !this.isDeviceOrSize(u + 4, true) || !this.isNum(u + 5)) return false;
    const ns = this.ts[u + 5]!;
    const ne = this.te[u + 5]!;
    if (unix) return this.unix(ls, le, pid, tid, u, cmdLen, uid, fd, ns, ne);
    this.sock(ls, le, pid, tid, u, cmdLen, uid, fd, ns, ne);
    return true;
  }

  /** The process of a row read in place, with the row's thread (as Builder.add has it: table.get). */
  private owner(ls: number, pid: number, tid: number | null, cmdLen: number, uid: number | null): ProcState {
    const { b } = this;
    const p = b.table.peek(pid) ?? b.table.create(pid, detach(unescapeLsof(this.text.slice(ls, ls + cmdLen).trim())), uid);
    if (tid !== null && tid !== pid) (p.tids ??= new Set()).add(tid);
    return p;
  }

  /** The fd number of the row ("*NNN" resolves only once the row is read here: whole() would resolve it again). */
  private fdNumber(pid: number, tid: number | null, fd: number): number {
    return fd === FD_TRUNC ? this.b.numbers.truncated(pid, tid, this.fdValue) : this.fdValue;
  }

  /**
   * fd `fdNo` of `p` listed by the row (not a repeat): its text from TYPE on kept (ProcState.tails),
   * when the capture may repeat it on thread rows. Only then: a copy a row cost ~65 ms of the 1.2 s
   * of the 1M-line "as is" bench, whose rows mostly repeat.
   */
  private keepTail(p: ProcState, fdNo: number, t: number, le: number): void {
    if (this.layout.tasks !== false) this.b.table.keepTail(p, fdNo, detach(this.text.slice(t, le)));
  }

  /**
   * "IPv4 INODE SIZE/OFF TCP a.b.c.d:p->e.f.g.h:q (STATE)", STATE ESTABLISHED or CLOSE_WAIT: the row
   * from the end of its TYPE read in one pass, left to right, as the tokens has() would find read
   * (DEVICE all digits, 1-10 of them, no leading 0; SIZE/OFF starting with a digit; NODE "TCP"; NAME
   * the rest). Most rows of a socket-heavy capture are these: has() finding DEVICE .. NAME first and
   * hostPort() then reading NAME again cost ~0.25 us a row (1M-line socket-heavy bench, --cpu-prof).
   */
  private inet(ls: number, le: number, pid: number, tid: number | null, t: number, te: number, cmdLen: number, uid: number | null, fd: number): boolean {
    const { text, bytes, b } = this;
    // Digit loops need no bound: the byte at le ends the line ("\n", "\r"; the newline after the bytes), no digit.
    let i = te;
    while (i < le && isSpace(bytes[i]!)) i++;
    // DEVICE: the inode
    const ds = i;
    let inode = 0;
    for (let c = bytes[i]!; isDigit(c); c = bytes[++i]!) inode = inode * 10 + c - 48;
    if (i === ds || i - ds > 10 || i === le || !isSpace(bytes[i]!) || (i - ds > 1 && bytes[ds] === 48)) return false;
    if (inode === 0 || inode > 0xffffffff) return false;
    while (i < le && isSpace(bytes[i]!)) i++;
    // SIZE/OFF: any token that starts with a digit
    if (i === le || !isDigit(bytes[i]!)) return false;
    while (i < le && !isSpace(bytes[i]!)) i++;
    while (i < le && isSpace(bytes[i]!)) i++;
    // NODE: "TCP", then NAME
    if (le - i < 4 || bytes[i] !== 84 || bytes[i + 1] !== 67 || bytes[i + 2] !== 80 || !isSpace(bytes[i + 3]!)) return false;
    for (i += 4; i < le && isSpace(bytes[i]!); i++);
    // NAME: local->remote (STATE), trailing blanks aside
    const ls1 = i;
    if (!this.hostPort(ls1)) return false;
    const le1 = this.hpColon;
    const lport = this.hpPort;
    i = this.hpEnd;
    if (bytes[i] !== 45 || bytes[i + 1] !== 62) return false; // "->"
    const rs = i + 2;
    if (!this.hostPort(rs)) return false;
    const re = this.hpColon;
    const rport = this.hpPort;
    i = this.hpEnd;
    if (bytes[i] !== 32 || bytes[i + 1] !== 40) return false; // " ("
    const closeWait = i + 13 <= le && wordIn(bytes, i + 2, 'CLOSE_WAIT)');
    if (!closeWait && !(i + 14 <= le && wordIn(bytes, i + 2, 'ESTABLISHED)'))) return false;
    for (i += (closeWait ? 10 : 11) + 3; i < le; i++) if (!isSpace(bytes[i]!)) return false;
    const listed = this.listFresh(ls, le, pid, tid, t, cmdLen, uid, fd, inode);
    if (listed !== 'new') return listed === 'repeat';
    b.folded(b.folder.tcpRow(pid, inode, closeWait, text, ls1, le1, lport, rs, re, rport));
    return true;
  }

  /**
   * A plain socket row's fd listed, once the fold can take its inode: false where it cannot (the
   * row takes the record path), 'repeat' for an fd this input already listed (nothing to fold),
   * 'new' with its tail kept (the caller folds its row).
   */
  private listFresh(ls: number, le: number, pid: number, tid: number | null, t: number, cmdLen: number, uid: number | null, fd: number, inode: number): false | 'repeat' | 'new' {
    if (!this.b.folder.fresh(inode, pid)) return false;
    const p = this.owner(ls, pid, tid, cmdLen, uid);
    const fdNo = this.fdNumber(pid, tid, fd);
    if (this.b.listSocket(p, tid, fdNo) === 'repeat') return 'repeat';
    this.keepTail(p, fdNo, t, le);
    return 'new';
  }

  /** "unix DEVICE SIZE/OFF INODE NAME": the fold needs its inode only (a unix socket's state there is 'UNIX'). */
  private unix(ls: number, le: number, pid: number, tid: number | null, u: number, cmdLen: number, uid: number | null, fd: number, ns: number, ne: number): boolean {
    const { bytes, b } = this;
    if (ne - ns > 1 && bytes[ns] === 48) return false; // "0123": keyed as its text
    const inode = numIn(bytes, ns, ne);
    if (inode === 0 || inode > 0xffffffff) return false;
    const listed = this.listFresh(ls, le, pid, tid, this.ts[u + 2]!, cmdLen, uid, fd, inode);
    if (listed !== 'new') return listed === 'repeat';
    b.folded(b.folder.tableRow(pid, inode, 'UNIX'));
    return true;
  }

  /** The last sock row's NAME, and its "protocol: TCP" reading: most sock rows repeat both (no slice, no regex). */
  private sockName = '';
  private sockHint: string | null = null;

  /** "sock DEVICE SIZE/OFF INODE NAME": a socket in no table of lsof's own (an orphan), kept as the fd record add() makes. */
  private sock(ls: number, le: number, pid: number, tid: number | null, u: number, cmdLen: number, uid: number | null, fd: number, ns: number, ne: number): void {
    const { text, bytes, b } = this;
    const s = this.ts[u + 6]!;
    let e = le;
    while (e > s && isSpace(bytes[e - 1]!)) e--; // as String.trim(): the same blanks
    if (e - s !== this.sockName.length || !text.startsWith(this.sockName, s)) {
      this.sockName = detach(text.slice(s, e));
      this.sockHint = /^protocol: (\S+)/.exec(this.sockName)?.[1] ?? null;
    }
    const p = this.owner(ls, pid, tid, cmdLen, uid);
    const fdNo = this.fdNumber(pid, tid, fd);
    const listed = b.listSocket(p, tid, fdNo);
    if (listed !== 'repeat') this.keepTail(p, fdNo, this.ts[u + 2]!, le);
    // the inode as the fold keys it: its number, read here (all digits: NODE passed isNum), or its text
    if (listed === 'new') b.sockFd(pid, fdNo, plainInodeShape(ne - ns, bytes[ns]!) ? numIn(bytes, ns, ne) : text.slice(ns, ne), this.sockName, this.sockHint);
  }

  /** Where the last hostPort() ended, where its host ended (the colon), its port. */
  private hpEnd = 0;
  private hpColon = 0;
  private hpPort = 0;

  /**
   * "a.b.c.d:port" (a host of digits and dots, as an IPv4 row's host reads as it is) at text[i..]:
   * whether it is one. No bound needed: the row's end (a line end) is no digit, dot or colon.
   */
  private hostPort(i: number): boolean {
    const bytes = this.bytes;
    let c = bytes[i]!;
    if (!isDigit(c)) return false;
    while (isDigit(c) || c === 46) c = bytes[++i]!;
    if (c !== 58) return false; // ":"
    this.hpColon = i++;
    const ps = i;
    let port = 0;
    for (c = bytes[i]!; isDigit(c) && i - ps < 6; c = bytes[++i]!) port = port * 10 + c - 48;
    if (i === ps || i - ps > 5 || port > 65535) return false;
    this.hpEnd = i;
    this.hpPort = port;
    return true;
  }

  /** Whether the row, up to `le`, ends in " (deleted)" (trailing blanks aside). */
  private endsDeleted(le: number): boolean {
    const text = this.text;
    let e = le;
    while (e > 0 && isSpace(text.charCodeAt(e - 1))) e--;
    return text.charCodeAt(e - 1) === 41 && text.endsWith(DELETED, e);
  }

  /**
   * [DEVICE] [SIZE/OFF] [NLINK] [NODE] NAME from token i, into deviceAt, sizeAt, nodeAt, nameAt:
   * DEVICE is "maj,min" or 0x..., SIZE/OFF 0t.., 0x.. or a number, NLINK a number under an NLINK
   * header; a `socket` row's NODE (its inode) may end the row.
   */
  private fileColumns(i: number, socket: boolean): void {
    let j = i;
    this.deviceAt = this.sizeAt = this.nodeAt = this.nameAt = -1;
    if (this.isDeviceOrSize(j, false)) this.deviceAt = j++;
    if (this.isDeviceOrSize(j, true) && this.isNum(j + 1) && this.has(j + 2)) this.sizeAt = j++;
    if (this.layout.nlink && this.isNum(j) && this.isNum(j + 1) && this.has(j + 2)) j++;
    if (this.isNum(j) && (this.has(j + 1) || socket)) this.nodeAt = j++;
    if (this.has(j)) this.nameAt = j;
  }

  /** Tallies the target of the row's new fd (a file, pipe or anon inode) for `p`, after fileColumns(). */
  private tally(p: ProcState, kind: FdKind): void {
    const n = this.nameAt;
    if (n < 0) return;
    const { text } = this;
    const s = this.ts[n]!;
    let e = this.end;
    while (e > s && isSpace(text.charCodeAt(e - 1))) e--;
    const targets = (p.targets ??= new Targets());
    if (kind === 'file') return targets.addFileAt(text, s, e);
    const key = tallyKey(kind, text.slice(s, e), this.nodeAt < 0 ? null : this.tok(this.nodeAt));
    if (key !== null) targets.add(key, kind);
  }

  /**
   * The row as an LsofFile, read on from its TYPE column (tokens up to there are found): the row's
   * strings are cut from a copy of it, never from the piece (records outlive the piece).
   */
  private whole(ls: number, le: number, lineNo: number, h: Omit<Head, 'at' | 'len'>, fd: number): void {
    const raw = detach(this.text.slice(ls, le));
    const { u } = h;
    const tok = (i: number): string => raw.slice(this.ts[i]! - ls, this.te[i]! - ls);
    const from = (i: number): string => raw.slice(this.ts[i]! - ls);
    const fdStart = this.ts[u + 1]! - ls;
    const fdText = fd === FD_NUM ? raw.slice(fdStart, this.fdEnd - ls) : fd === FD_TRUNC ? raw.slice(fdStart, fdStart + 4) : tok(u + 1);
    const file = (type: string, device: string | null, node: string | null, protocol: string | null, name: string): LsofFile => ({
      line: lineNo, text: raw, pid: h.pid, tid: h.tid, command: unescapeLsof(raw.slice(0, h.cmdLen).trim()),
      uid: h.uid, fd: fdText, type, device, node, protocol, name, state: null, rxQueue: null, txQueue: null,
    });
    const b = this.b;
    if (fd === FD_NOFD) return b.add(file('', null, null, null, this.has(u + 2) ? from(u + 2).trim() : ''));
    const type = tok(u + 2);
    // kept to know a thread's row repeating it: none without a TID column
    const tail = SOCKET_TYPES.has(type) && this.layout.tasks !== false ? raw.slice(this.ts[u + 2]! - ls) : null;
    const i = u + 3;
    if (type === 'IPv4' || type === 'IPv6') {
      // DEVICE (the inode) and SIZE/OFF, then the protocol in NODE, then NAME.
      const isProtocol = (k: number): boolean => this.has(k) && isProtocolAt(this.text, this.ts[k]!, this.te[k]!);
      let n = i;
      while (this.has(n) && n < i + 3 && !isProtocol(n)) n++;
      if (!isProtocol(n)) return b.bad(lineNo, raw, `expected the protocol (TCP, UDP) in the NODE column of an ${type} row`);
      const device = n - i >= 2 ? tok(i) : n - i === 1 && !tok(i).startsWith('0t') ? tok(i) : null;
      if (!this.has(n + 1)) return b.bad(lineNo, raw, `expected an address in the NAME column of an ${type} row`);
      const split = splitInetName(from(n + 1));
      const inet = file(type, device, null, tok(n), split.address);
      inet.state = split.state;
      inet.rxQueue = split.rxQueue;
      inet.txQueue = split.txQueue;
      return b.add(inet, tail);
    }
    this.fileColumns(i, SOCKET_TYPES.has(type));
    const name = this.nameAt < 0 ? '' : from(this.nameAt).trim();
    if (SOCKET_TYPES.has(type) && name === '' && type !== 'netlink') return b.bad(lineNo, raw, `expected a NAME after the inode of a ${type} row`);
    const f = file(type, this.deviceAt < 0 ? null : tok(this.deviceAt), this.nodeAt < 0 ? null : tok(this.nodeAt), null, name);
    if (this.sizeAt >= 0) f.size = tok(this.sizeAt);
    b.add(f, tail);
  }
}
