/**
 * The first of parseProcNetInet's two steps (proc-net-inet.ts): which rows of a /proc/net inet table
 * to parse, judged on their st and inode columns. Its own module, with no import, because the
 * diagnose worker (live/threads/proc-pid-reader.ts) runs it too and must stay cheap to load.
 */

export const INET_TABLES = ['tcp', 'tcp6', 'udp', 'udp6', 'udplite', 'udplite6', 'raw', 'raw6', 'icmp', 'icmp6'] as const;
export type InetTable = (typeof INET_TABLES)[number];

/**
 * Columns 4 (st) and 10 (inode) of the row starting where lastIndex is set, as `split(/\s+/)` of
 * the line would find them; sticky and never past the line's end, so a row `keep` rejects is judged
 * in the text as read, never cut out of it (no slice, trim nor stripCr per rejected row). Measured
 * in-process on 24,000 rows (medians of 15): none kept 4-6 ms instead of 7-10 ms with a slice and a
 * trim per row; half kept, no difference beyond the noise (the kept rows' parse dominates).
 */
const KEEP_COLUMNS = /[ \t]*(?:\S+[ \t]+){3}(\S+)[ \t]+(?:\S+[ \t]+){5}(\S+)/y;

/** Judges a row on its inode column and its st column (the state code as 2 hex digits, "08"), as text. */
export type KeepRow = (inode: string, st: string) => boolean;

/**
 * Calls `each` with the start, end (its newline, or the text's end) and number of every line, until
 * it returns false; returns how many lines it was called with.
 */
export function eachLine(text: string, each: (start: number, end: number, lineNo: number) => boolean | void): number {
  let start = 0;
  let lineNo = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    if (each(start, end, ++lineNo) === false) break;
    start = end + 1;
  }
  return lineNo;
}

/**
 * parseProcNetInet in two steps, for a caller with something to start between them: selectInetRows
 * judges each row with `keep` on its columns (the first look parseProcNetInet takes), and
 * parseSelectedRows parses the rows it kept, with the records and errors parseProcNetInet gives.
 * Live diagnose asks its helper program about the sockets in no table between the two (their
 * inodes are known from the first step), so that the helper works while the rows are parsed.
 */
export interface RowSelection {
  /**
   * Start offset and line number of each line to parse: line 1, the rows keep accepted, and those
   * whose columns it could not judge (typed arrays where the diagnose worker selected them).
   */
  starts: ArrayLike<number>;
  lines: ArrayLike<number>;
  /** The inode column of each row keep accepted. */
  kept: string[];
  /** Rows (after line 1) whose columns keep could not judge: their inode is known only once parsed. */
  unjudged: number;
  /** Lines in the text. */
  total: number;
}

/** Step 1 of parseProcNetInet with `keep`: which rows to parse (see RowSelection). */
export function selectInetRows(text: string, keep: KeepRow): RowSelection {
  return selectInetRowsUnless(text, keep, () => false)!;
}

/**
 * selectInetRows, asking `stop` (with the offset reached) every STOP_EVERY lines whether to give up:
 * undefined if it did. For a thread whose work another may take over (proc-pid-reader.ts).
 */
export function selectInetRowsUnless(text: string, keep: KeepRow, stop: (offset: number) => boolean): RowSelection | undefined {
  const starts: number[] = [];
  const lines: number[] = [];
  const selection: RowSelection = { starts, lines, kept: [], unjudged: 0, total: 0 };
  let stopped = false;
  selection.total = eachLine(text, (start, end, lineNo) => {
    if (lineNo % STOP_EVERY === 0 && stop(start)) return !(stopped = true);
    const verdict = lineNo === 1 ? undefined : keepColumns(text, start, end, keep);
    if (verdict === false) return;
    starts.push(start);
    lines.push(lineNo);
    if (typeof verdict === 'string') selection.kept.push(verdict);
    else if (lineNo > 1) selection.unjudged++;
  });
  return stopped ? undefined : selection;
}

/** Lines between two questions to selectInetRowsUnless's `stop`: ~0.5-1 ms of work on 24,000 rows. */
const STOP_EVERY = 1024;

/**
 * keep's verdict on the row from `start` to `end`, on its st and inode columns as they lie in the
 * text: false (pass it over), the inode (kept), or undefined where the columns are not found within
 * the row (it is parsed, and checked, whatever keep would say).
 */
function keepColumns(text: string, start: number, end: number, keep: KeepRow): string | false | undefined {
  KEEP_COLUMNS.lastIndex = start;
  const cols = KEEP_COLUMNS.exec(text);
  if (cols === null || KEEP_COLUMNS.lastIndex > end) return undefined;
  const inode = cols[2]!.replace(/\r$/, '');
  return keep(inode, cols[1]!) ? inode : false;
}

