/**
 * strace output as `fdleak trace` asks for it: `strace -f -k -y -e signal=none -e trace=...`
 * (argv in src/live/trace/strace.ts). One line per syscall, the tid first (with -f), then the call;
 * with -k the stack follows as ` > ` lines, innermost frame first. Format: strace(1) and
 * /work/shared/reference/strace-and-fd-kinds.md. Quirks handled here:
 * - a call split by another task's line: `9990 close(3<pipe:[5]> <unfinished ...>` ...
 *   `9990 <... close resumed>) = 0`; the halves are joined by tid and the stack follows the resumed half;
 * - `-y` decorations after fd numbers: `3<socket:[4883286]>`, `3</etc/hosts>`, and the `-yy`
 *   forms `3<TCP:[127.0.0.1:5->127.0.0.1:6]>`, `0</dev/null<char 1:3>>`,
 *   `11</memfd:x>(deleted)`; strace escapes `<`, `>` and `"` inside them;
 * - exit lines `9990 +++ exited with 0 +++`, `+++ killed by SIGKILL +++`; `<detached ...>` when
 *   strace lets go of a task mid-call (the call is dropped: its result is unknown).
 * Pure: lines in, events out (StraceReader); the lifecycle is src/trace/fd-tracker.ts.
 */

/** A finished syscall: `name(args) = ret`, the halves joined. */
export interface SyscallLine {
  type: 'syscall';
  tid: number;
  name: string;
  /** The text between the outer parentheses. */
  args: string;
  /** The return value as a number (-1 for errors); null for `?` or unparsable. */
  ret: number | null;
  /** `-yy` decoration of the returned fd: "TCP:[123]", "/etc/passwd"; null when none. */
  retDeco: string | null;
  /** The errno name when ret is -1 ("EMFILE"), else null. */
  errno: string | null;
  /** Stack frames, innermost first, as strace printed them (without " > "). */
  stack: string[];
}

/** A task ended: `+++ exited with N +++` or `+++ killed by SIG +++`. */
export interface ExitLine {
  type: 'exit';
  tid: number;
}

export type StraceEvent = SyscallLine | ExitLine;

/** An fd number and its `-yy` decoration as strace printed them in arguments or a result. */
export interface FdToken {
  fd: number;
  deco: string | null;
}

const MAX_FRAMES = 64;

/**
 * Joins split calls and attaches stack lines; `push` each line (without the newline), `end()` at
 * EOF. `wantsStack(name)` says which calls keep their frames (the others' are skipped, unstored).
 */
export class StraceReader {
  private readonly unfinished = new Map<number, string>();
  private pending: SyscallLine | null = null;
  private keepFrames = false;
  /** Lines that were not strace's (counted, not fatal: a tracee may write to the same file). */
  unknownLines = 0;

  constructor(
    private readonly emit: (event: StraceEvent) => void,
    private readonly wantsStack: (name: string) => boolean = () => true,
  ) {}

  push(line: string): void {
    if (line.startsWith(' > ')) {
      if (this.pending !== null && this.keepFrames && this.pending.stack.length < MAX_FRAMES) this.pending.stack.push(line.slice(3));
      return;
    }
    this.flush();
    if (line === '') return;
    const sp = line.indexOf(' ');
    const tid = sp > 0 ? Number(line.slice(0, sp)) : Number.NaN;
    if (!Number.isInteger(tid) || tid <= 0) { this.unknownLines++; return; }
    let rest = line.slice(sp).trimStart();
    if (rest.startsWith('+++ ')) {
      if (rest.startsWith('+++ exited') || rest.startsWith('+++ killed')) {
        this.unfinished.delete(tid);
        this.emit({ type: 'exit', tid });
      }
      return;
    }
    if (rest.startsWith('---')) return; // a signal (only when -e signal=none was not given)
    if (rest.startsWith('<... ')) {
      const head = this.unfinished.get(tid);
      const close = rest.indexOf(' resumed>');
      if (head === undefined || close < 0) return; // its first half was before the window
      this.unfinished.delete(tid);
      rest = head + rest.slice(close + ' resumed>'.length);
    } else if (rest.endsWith(' <unfinished ...>')) {
      this.unfinished.set(tid, rest.slice(0, -' <unfinished ...>'.length));
      return;
    }
    if (rest.endsWith('<detached ...>')) return;
    const call = parseSyscall(tid, rest);
    if (call === null) { this.unknownLines++; return; }
    this.pending = call;
    this.keepFrames = this.wantsStack(call.name);
  }

  /** EOF: the last call goes out; halves whose end never came are dropped. */
  end(): void {
    this.flush();
    this.unfinished.clear();
  }

  private flush(): void {
    if (this.pending === null) return;
    const call = this.pending;
    this.pending = null;
    this.emit(call);
  }
}

/** `socket(AF_INET, SOCK_STREAM, IPPROTO_IP) = 3<TCP:[120551]>` -> name, args, ret; null when not a call. */
export function parseSyscall(tid: number, text: string): SyscallLine | null {
  const open = text.indexOf('(');
  if (open <= 0) return null;
  const name = text.slice(0, open);
  if (!/^[a-z_0-9]+$/.test(name)) return null;
  const close = matchingParen(text, open);
  if (close < 0) return null;
  const after = text.slice(close + 1);
  const m = /^\s*= (-?\d+|\?|0x[0-9a-f]+)/.exec(after);
  if (m === null) return null;
  let ret: number | null = m[1] === '?' ? null : Number(m[1]);
  if (ret !== null && !Number.isFinite(ret)) ret = null;
  let retDeco: string | null = null;
  let errno: string | null = null;
  const tail = after.slice(m[0].length);
  if (tail.startsWith('<')) {
    const end = decoEnd(tail, 0);
    if (end > 0) retDeco = tail.slice(1, end);
  } else if (ret === -1) {
    const e = /^ ([A-Z][A-Z0-9_]+)/.exec(tail);
    errno = e === null ? null : e[1]!;
  }
  return { type: 'syscall', tid, name, args: text.slice(open + 1, close), ret, retDeco, errno, stack: [] };
}

/** Index of the `)` closing the `(` at `open`, skipping strings, decorations and nested brackets; -1 if none. */
function matchingParen(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) { // "..." with backslash escapes
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++;
    } else if (c === 0x3c && i > 0 && isDigit(text.charCodeAt(i - 1))) { // 3<...>
      const end = decoEnd(text, i);
      if (end < 0) return -1;
      i = end;
    } else if (c === 0x28 || c === 0x5b || c === 0x7b) depth++;
    else if (c === 0x29 || c === 0x5d || c === 0x7d) {
      depth--;
      if (depth === 0) return c === 0x29 ? i : -1;
    }
  }
  return -1;
}

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;

/**
 * Index of the `>` ending the decoration whose `<` is at `start` (nested: `</dev/null<char 1:3>>`);
 * the `->` between a socket's ends inside `[...]` (`TCP:[127.0.0.1:5->127.0.0.1:6]`) is not an end.
 */
function decoEnd(text: string, start: number): number {
  let depth = 0;
  let square = 0;
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5c) { i++; continue; }
    if (c === 0x5b) square++;
    else if (c === 0x5d) { if (square > 0) square--; }
    else if (square > 0) continue;
    else if (c === 0x3c) depth++;
    else if (c === 0x3e && --depth === 0) return i;
  }
  return -1;
}

/** Every `N<deco>` fd token in `text` in order: the fd arrays of pipe2/socketpair, SCM_RIGHTS data. */
export function fdTokens(text: string): FdToken[] {
  const out: FdToken[] = [];
  const re = /(?<![\w.])(\d+)</g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const lt = m.index + m[1]!.length;
    const end = decoEnd(text, lt);
    if (end < 0) break;
    out.push({ fd: Number(m[1]), deco: text.slice(lt + 1, end) });
    re.lastIndex = end + 1;
  }
  return out;
}

/** The arguments split at top-level commas (strings, decorations and brackets kept whole). */
export function splitArgs(args: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let from = 0;
  for (let i = 0; i < args.length; i++) {
    const c = args.charCodeAt(i);
    if (c === 0x22) {
      for (i++; i < args.length && args.charCodeAt(i) !== 0x22; i++) if (args.charCodeAt(i) === 0x5c) i++;
    } else if (c === 0x3c && i > 0 && isDigit(args.charCodeAt(i - 1))) {
      const end = decoEnd(args, i);
      if (end > 0) i = end;
    } else if (c === 0x28 || c === 0x5b || c === 0x7b) depth++;
    else if (c === 0x29 || c === 0x5d || c === 0x7d) depth--;
    else if (c === 0x2c && depth === 0) {
      out.push(args.slice(from, i).trim());
      from = i + 1;
    }
  }
  if (from < args.length || out.length > 0) out.push(args.slice(from).trim());
  return out;
}

/** `3<TCP:[12]>` or `3` -> the token; null when the argument is not an fd. */
export function fdArg(arg: string | undefined): FdToken | null {
  if (arg === undefined) return null;
  const m = /^(-?\d+)(<(.*)>)?/.exec(arg);
  if (m === null) return null;
  return { fd: Number(m[1]), deco: m[3] ?? null };
}

/** One frame of `-k` output: `/usr/lib/libc.so.6(__socket+0x7) [0x10adc7]`; `/bin/x(+0x12) [0x12]`. */
export interface Frame {
  object: string;
  /** The symbol strace found ("__socket"), or null. */
  symbol: string | null;
  /** The object-relative address in brackets, as hex text ("0x10adc7"). */
  address: string | null;
}

/** Parses one frame line (without " > "); anything else keeps the whole text as `object`. */
export function parseFrame(text: string): Frame {
  const m = /^(.*?)\((.*)\) \[(0x[0-9a-f]+)\]$/.exec(text);
  if (m === null) return { object: text, symbol: null, address: null };
  const sym = m[2]!;
  const plus = sym.lastIndexOf('+0x');
  const symbol = (plus >= 0 ? sym.slice(0, plus) : sym) || null;
  return { object: m[1]!, symbol, address: m[3]! };
}

/** Peer of a `connect()` sockaddr argument: "127.0.0.1:3306", "[::1]:80", "/run/x.sock", "@abstract"; null when unknown. */
export function sockaddrText(arg: string | undefined): string | null {
  if (arg === undefined) return null;
  let m = /sin_port=htons\((\d+)\), sin_addr=inet_addr\("([^"]*)"\)/.exec(arg);
  if (m !== null) return `${m[2]}:${m[1]}`;
  m = /sin6_port=htons\((\d+)\).*inet_pton\(AF_INET6, "([^"]*)"/.exec(arg);
  if (m !== null) return `[${m[2]}]:${m[1]}`;
  m = /sun_path=(@?)"((?:[^"\\]|\\.)*)"/.exec(arg);
  if (m !== null) return `${m[1]}${m[2]}`;
  return null;
}
