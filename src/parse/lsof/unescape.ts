/**
 * lsof's escapes in COMMAND and TASKCMD, decoded to text, never to control bytes. lsof (print.c,
 * safestrprt/safepup) prints a backslash as "\\", a space (in COMMAND columns) and bytes it cannot
 * print as "\xNN", ESC and other C0 controls as "^[" / "^X", and "\b \f \n \r \t" by name. Decoded:
 * "\\" -> "\", and "\xNN" runs that make printable text: a printable ASCII byte ("udp\x20lab" ->
 * "udp lab") or a whole UTF-8 character ("caf\xc3\xa9" -> "café"). Anything that would decode to a
 * control character (C0, DEL, C1, or a bidi override) stays as lsof printed it, as do "^[", "\n":
 * a name lsof printed as "\\x1b[2J" (the printable text backslash-x-1-b) stays that text.
 */
export function unescapeLsof(text: string): string {
  if (!text.includes('\\')) return text;
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c !== '\\') { out += c; i++; continue; }
    if (text[i + 1] === '\\') { out += '\\'; i += 2; continue; }
    const byte = hexByte(text, i);
    if (byte === null) { out += c; i++; continue; }
    if (byte >= 0x20 && byte < 0x7f) { out += String.fromCharCode(byte); i += 4; continue; }
    const decoded = byte >= 0xc2 && byte <= 0xf4 ? utf8Char(text, i, byte) : null;
    if (decoded === null) { out += text.slice(i, i + 4); i += 4; continue; }
    out += decoded.char;
    i = decoded.end;
  }
  return out;
}

/** The byte of "\xNN" at text[i], or null. */
function hexByte(text: string, i: number): number | null {
  if (text[i + 1] !== 'x' || !/^[0-9a-fA-F]{2}$/.test(text.slice(i + 2, i + 4))) return null;
  return parseInt(text.slice(i + 2, i + 4), 16);
}

/** A printable UTF-8 character spelled as "\xNN" escapes from text[i] (lead byte `lead`), or null. */
function utf8Char(text: string, i: number, lead: number): { char: string; end: number } | null {
  const length = lead < 0xe0 ? 2 : lead < 0xf0 ? 3 : 4;
  const bytes = [lead];
  for (let k = 1; k < length; k++) {
    const b = hexByte(text, i + 4 * k);
    if (b === null || b < 0x80 || b > 0xbf) return null;
    bytes.push(b);
  }
  let char: string;
  try {
    char = new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bytes));
  } catch {
    return null;
  }
  // C1 controls, bidi overrides and isolates, line/paragraph separators: not text to show.
  if (/[\u0080-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff]/.test(char)) return null;
  return { char, end: i + 4 * length };
}
