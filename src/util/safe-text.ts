/**
 * Text that others chose (process names and command lines, paths, captured text) made safe for each
 * place fdleak prints it. The one place that knows which characters can act on a terminal:
 * - C0 controls (ESC starts ANSI/OSC sequences, BEL ends OSC, CR and BS rewrite the line, LF splits
 *   a row or an error line), DEL;
 * - C1 controls U+0080..U+009F (U+009B is CSI, U+009D is OSC on terminals that honour 8-bit C1);
 * - bidi overrides and isolates (U+202A..U+202E, U+2066..U+2069, U+200E, U+200F, U+061C), which
 *   reorder what is shown ("Trojan Source");
 * - line and paragraph separators U+2028, U+2029.
 * Each is shown visibly and reversibly, as C and JSON do: `\n`, `\t`, `\r`, `\x1b`, `\u202e`; a
 * backslash itself stays a backslash (the escapes are for reading, not for parsing back).
 */

// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
// eslint-disable-next-line no-control-regex
const UNSAFE_TEST = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escapeChar(c: string): string {
  const named = NAMED[c];
  if (named !== undefined) return named;
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** For a terminal, a table cell or a stderr line: every unsafe character shown as an escape. */
export function safeText(text: string): string {
  return UNSAFE_TEST.test(text) ? text.replace(UNSAFE, escapeChar) : text;
}

/** Whether `text` holds a character safeText would escape. */
export function isUnsafe(text: string): boolean {
  return UNSAFE_TEST.test(text);
}

// JSON.stringify already escapes U+0000..U+001F; these it leaves raw.
const JSON_RAW = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * JSON.stringify, with the characters it leaves raw (DEL, C1, bidi controls, U+2028/9) written as
 * \uXXXX escapes: the same JSON value, and `cat`-ing the file cannot act on a terminal.
 */
export function safeJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, null, indent).replace(JSON_RAW, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * Bytes the kernel or a capture gave (a comm, an argv, a path) as text: valid UTF-8 decoded, each
 * byte of an invalid sequence shown as `\xNN` (never guessed as Latin-1, never U+FFFD).
 */
export function utf8Escaped(bytes: Uint8Array): string {
  let ascii = true;
  for (let i = 0; i < bytes.length; i++) if (bytes[i]! >= 0x80) { ascii = false; break; }
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (ascii) return buf.toString('latin1');
  let out = '';
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    const n = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (n === 0 || i + n > bytes.length || !validSequence(bytes, i, n)) {
      out += `\\x${b.toString(16).padStart(2, '0')}`;
      i++;
      continue;
    }
    out += buf.toString('utf8', i, i + n);
    i += n;
  }
  return out;
}

/** Continuation bytes, and no overlong, surrogate or above-U+10FFFF form (RFC 3629 table). */
function validSequence(b: Uint8Array, i: number, n: number): boolean {
  for (let k = 1; k < n; k++) if ((b[i + k]! & 0xc0) !== 0x80) return false;
  if (n === 3) {
    if (b[i] === 0xe0 && b[i + 1]! < 0xa0) return false;
    if (b[i] === 0xed && b[i + 1]! > 0x9f) return false;
  }
  if (n === 4) {
    if (b[i] === 0xf0 && b[i + 1]! < 0x90) return false;
    if (b[i] === 0xf4 && b[i + 1]! > 0x8f) return false;
  }
  return true;
}
