import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../src/util/duration.js';

describe('parseDuration', () => {
  it('500ms, 2s, 1m, 1.5m, 1h', () => {
    expect(['500ms', '2s', '1m', '1.5m', '1h'].map((d) => parseDuration(d, '--interval'))).toEqual([500, 2000, 60_000, 90_000, 3_600_000]);
  });
  it('refuses 2x, -1s, 0s, a bare number and more than a week, naming the flag', () => {
    expect(() => parseDuration('2x', '--interval')).toThrow('--interval: expected a duration such as 500ms, 2s or 1m, found "2x"');
    expect(() => parseDuration('-1s', '--duration')).toThrow('--duration: expected a duration such as 500ms, 2s or 1m, found "-1s"');
    expect(() => parseDuration('0s', '--sample')).toThrow('--sample: expected a duration of more than 0, found "0s"');
    expect(() => parseDuration('2', '--sample')).toThrow('found "2"');
    expect(() => parseDuration('8d', '--sample')).toThrow('found "8d"');
    expect(() => parseDuration('200h', '--duration')).toThrow('--duration: expected a duration of at most a week, found "200h"');
  });
});
