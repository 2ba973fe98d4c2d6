/** Small text helpers every captured-text parser shares. */
import { safeText } from '../util/safe-text.js';

/** Longest line a text parser looks at; longer lines are bad lines (no tool prints them). */
export const MAX_LINE = 64 * 1024;

/** A value quoted for an error message: at most 40 characters, control bytes shown escaped. */
export function quote(text: string): string {
  return `"${safeText(text.length > 40 ? `${text.slice(0, 40)}...` : text)}"`;
}

/** A line without the "\r" of a capture saved with CRLF line ends. */
export function stripCr(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}

/** /^\d+$/.test(text), without a regular expression. */
export function isDigits(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** JavaScript's \s, by character code. */
export function isSpace(c: number): boolean {
  if (c <= 32) return c === 32 || (c >= 9 && c <= 13);
  if (c < 0xa0) return false;
  return c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}
