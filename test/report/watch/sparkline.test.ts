import { describe, expect, it } from 'vitest';
import { sparkline } from '../../../src/report/watch/sparkline.js';

describe('sparkline', () => {
  it('a climb, a pool that filled, a flat line', () => {
    expect(sparkline([0, 1, 2, 3, 4, 5, 6, 7])).toBe('▁▂▃▄▅▆▇█');
    expect(sparkline([10, 20, 30, 30, 30, 30])).toBe('▁▅████');
    expect(sparkline([5, 5, 5])).toBe('▁▁▁');
  });
  it('at most `width` cells, each the highest value of its run', () => {
    const line = sparkline(Array.from({ length: 1000 }, (_, i) => i), 40);
    expect([...line]).toHaveLength(40);
    expect(line.endsWith('█')).toBe(true);
  });
});
