import { describe, expect, it } from 'vitest';
import { isUnsafe, safeJson, safeText, utf8Escaped } from '../../src/util/safe-text.js';

describe('safeText', () => {
  it('shows terminal controls, C1, bidi overrides and line breaks as escapes', () => {
    expect(safeText('\u001b]0;pwned\u0007')).toBe('\\x1b]0;pwned\\x07');
    expect(safeText('\u001b[2J\u001b[31mEVIL')).toBe('\\x1b[2J\\x1b[31mEVIL');
    expect(safeText('a\nb\tc\rd')).toBe('a\\nb\\tc\\rd');
    expect(safeText('x\u009by')).toBe('x\\x9by');
    expect(safeText('\u202egnp.exe')).toBe('\\u202egnp.exe');
    expect(safeText('a\u2028b\u007f')).toBe('a\\u2028b\\x7f');
  });

  it('leaves printable text, UTF-8 names and backslashes alone', () => {
    for (const s of ['nginx: worker process', 'café-数据', 'C:\\path', 'emoji 🐙', '']) {
      expect(safeText(s)).toBe(s);
      expect(isUnsafe(s)).toBe(false);
    }
  });

  it('never lets an unsafe character through, whatever the input', () => {
    for (let seed = 1; seed < 2000; seed++) {
      let s = '';
      for (let k = 0; k < 12; k++) s += String.fromCharCode((seed * 7919 * (k + 3)) % 0x2100);
      expect(isUnsafe(safeText(s))).toBe(false);
    }
  });
});

describe('safeJson', () => {
  it('is the same JSON value, with C1 and bidi controls escaped', () => {
    const value = { name: 'a\u009b2J\u202e\u2028', n: 1, nested: ['\u001b[0m'] };
    const text = safeJson(value, 2);
    expect(JSON.parse(text)).toEqual(value);
    expect(text).not.toMatch(/[\u001b\u009b\u202e\u2028]/);
    expect(text).toContain('\\u009b');
    expect(text).toContain('\\u202e');
  });
});

describe('utf8Escaped', () => {
  it('decodes valid UTF-8 and shows each invalid byte as \\xNN', () => {
    expect(utf8Escaped(Buffer.from('café-数据', 'utf8'))).toBe('café-数据');
    expect(utf8Escaped(Buffer.from([0x61, 0xff, 0x62]))).toBe('a\\xffb');
    expect(utf8Escaped(Buffer.from([0xc3]))).toBe('\\xc3'); // truncated sequence
    expect(utf8Escaped(Buffer.from([0xc0, 0xaf]))).toBe('\\xc0\\xaf'); // overlong
    expect(utf8Escaped(Buffer.from([0xed, 0xa0, 0x80]))).toBe('\\xed\\xa0\\x80'); // surrogate
    expect(utf8Escaped(Buffer.from('plain', 'latin1'))).toBe('plain');
  });
});
