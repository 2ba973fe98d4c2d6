/**
 * collectGarbageAbove must run a full (mark-compact) collection: a scavenge of the young generation
 * only leaves the old space of a long `watch` to grow (bench/watch.mjs). V8 reports the kind of each
 * collection to a 'gc' PerformanceObserver.
 */
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { collectGarbageAbove } from '../../src/util/memory.js';

/** The kinds of the collections that started during `run` (not those of the test runner around it). */
async function gcKinds(run: () => void): Promise<number[]> {
  const kinds: number[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (e.startTime >= from && e.startTime <= to) kinds.push((e as unknown as { detail: { kind: number } }).detail.kind);
  });
  observer.observe({ entryTypes: ['gc'] });
  const from = performance.now();
  run();
  const to = performance.now();
  await new Promise((resolve) => setTimeout(resolve, 50)); // entries are delivered asynchronously
  observer.disconnect();
  return kinds;
}

describe('collectGarbageAbove', () => {
  it('runs a major collection when the resident size is above the bound', async () => {
    let ran = false;
    const kinds = await gcKinds(() => { ran = collectGarbageAbove(0); });
    expect(ran).toBe(true);
    expect(kinds).toContain(constants.NODE_PERFORMANCE_GC_MAJOR);
  });

  it('runs nothing below the bound', async () => {
    let ran = true;
    const kinds = await gcKinds(() => { ran = collectGarbageAbove(Number.MAX_SAFE_INTEGER); });
    expect(ran).toBe(false);
    expect(kinds).not.toContain(constants.NODE_PERFORMANCE_GC_MAJOR);
  });
});
