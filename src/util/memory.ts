import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let gc: (() => void) | null | undefined;

/**
 * A long-running loop that builds and drops large snapshots (`watch` of a 15,000-fd process every
 * 100 ms: each sample is ~30 MB of records) lets V8 grow its old space by tens of megabytes before
 * a major collection runs. When the resident size passes `bytes`, this runs one now, so RSS stays
 * flat (bench/watch.mjs). V8's gc() is exposed at run time (--expose-gc set from here, then read
 * from a fresh context), so no node flag is needed on the command line. Returns whether it ran.
 * gc() with no argument is a full mark-compact; on Node 20 (V8 11.3) `gc({ type: 'major' })` runs a
 * scavenge of the young generation only (`node --trace-gc` says "Scavenge ... testing"), which
 * left the old space to grow to its own limit: the 174 MiB peak of a 10-minute watch.
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
  gc();
  return true;
}
