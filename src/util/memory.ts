import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let gc: ((options?: { type: 'major' }) => void) | null | undefined;

/**
 * A long-running loop that builds and drops large snapshots (`watch` of a 15,000-fd process every
 * 100 ms: each sample is ~30 MB of records) lets V8 grow its old space by tens of megabytes before
 * a major collection runs. When the resident size passes `bytes`, this runs one now, so RSS stays
 * flat (bench/watch.mjs). V8's gc() is exposed at run time (--expose-gc set from here, then read
 * from a fresh context), so no node flag is needed on the command line. Returns whether it ran.
 */
export function collectGarbageAbove(bytes: number): boolean {
  if (process.memoryUsage.rss() <= bytes) return false;
  if (gc === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      gc = runInNewContext('gc') as typeof gc;
    } catch {
      gc = null;
    }
  }
  if (typeof gc !== 'function') return false;
  gc({ type: 'major' });
  return true;
}
