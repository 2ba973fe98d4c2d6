import { describe, expect, it } from 'vitest';
import { median, theilSen } from '../../src/util/slope.js';

describe('theilSen', () => {
  it('the slope of a line, whatever one outlier does', () => {
    const line = [0, 1, 2, 3, 4, 5, 6, 7].map((x) => ({ x, y: 3 * x + 10 }));
    expect(theilSen(line)).toBe(3);
    expect(theilSen(line.map((p) => (p.x === 5 ? { x: 5, y: 1000 } : p)))).toBe(3);
    expect(theilSen(line.map((p) => (p.x === 7 ? { x: 7, y: -1000 } : p)))).toBe(3);
  });
  it('null without two distinct x; thins long series to 200 points', () => {
    expect(theilSen([{ x: 1, y: 1 }, { x: 1, y: 5 }])).toBeNull();
    expect(theilSen(Array.from({ length: 6000 }, (_, x) => ({ x, y: 2 * x })))).toBe(2);
  });
  it('median of odd and even counts', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});
