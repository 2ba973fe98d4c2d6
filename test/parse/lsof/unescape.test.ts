/**
 * lsof's escapes decoded to text, never to control bytes. The escaped forms are what lsof 4.95
 * prints (print.c, safestrprt): a backslash as "\\", a space in COMMAND as "\x20", bytes it cannot
 * print as "\xNN", ESC as "^[", newline as "\n".
 */
import { describe, expect, it } from 'vitest';
import { unescapeLsof } from '../../../src/parse/lsof/unescape.js';
import { readColumns } from './read.js';

const CONTROL = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

describe('unescapeLsof', () => {
  it('decodes spaces, printable bytes, backslashes and whole UTF-8 characters', () => {
    expect(unescapeLsof('udp\\x20lab')).toBe('udp lab');
    expect(unescapeLsof('a\\\\b')).toBe('a\\b');
    expect(unescapeLsof('caf\\xc3\\xa9-\\xe6\\x95\\xb0')).toBe('café-数');
  });

  it('keeps as text what would become a control character', () => {
    // a name made of the printable text backslash-x-1-b: lsof prints it "\\x1b[2J"
    expect(unescapeLsof('\\\\x1b[2J')).toBe('\\x1b[2J');
    for (const escaped of ['\\x1b[2J', '\\x07', '\\x7f', '\\xc2\\x9b', '\\xe2\\x80\\xae', '^[', '\\n', '\\xff', '\\xc3']) {
      const text = unescapeLsof(escaped);
      expect(text, escaped).not.toMatch(CONTROL);
      expect(text, escaped).toBe(escaped);
    }
  });

  it('an lsof row whose COMMAND is the printable text \\x1b[2J reads as that text', () => {
    const row = 'COMMAND     PID USER   FD   TYPE DEVICE SIZE/OFF    NODE NAME\n\\\\x1b[2J  4242 root    3u  IPv4 123456      0t0     TCP 127.0.0.1:5000 (LISTEN)';
    const out = readColumns(row, 'x');
    expect(out.processes.map((p) => p.command)).toEqual(['\\x1b[2J']);
    expect(out.sockets[0]!.owners[0]!.command).toBe('\\x1b[2J');
  });
});
