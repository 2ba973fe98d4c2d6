import { describe, expect, it } from 'vitest';
import { compareText, countBy, ranked } from '../../src/util/group-by.js';

describe('ranked', () => {
  it('puts the biggest count first, and ties in code-unit order of their keys (whatever the locale)', () => {
    const counts = countBy(['127.0.0.1:80', '127.0.0.10:80', 'b', 'B', '127.0.0.1:80', 'a'], (k) => k);
    expect(ranked(counts)).toEqual([['127.0.0.1:80', 2], ['127.0.0.10:80', 1], ['B', 1], ['a', 1], ['b', 1]]);
  });

  it('ranks non-string keys by their text and gives them back as they were', () => {
    expect(ranked(new Map([[443, 1], [80, 1], [3306, 5]]))).toEqual([[3306, 5], [443, 1], [80, 1]]);
  });
});

describe('compareText', () => {
  it('orders by code unit: "10" before "9", upper case before lower', () => {
    expect(['9', '10', 'b', 'B'].sort(compareText)).toEqual(['10', '9', 'B', 'b']);
    expect(compareText('x', 'x')).toBe(0);
  });
});
