/** Replays a captured strace file (fixtures/strace) through the parser into a tracker, as the live collector does. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { StraceReader } from '../../src/parse/strace.js';
import { CREATORS, FdTracker } from '../../src/trace/fd-tracker.js';

export const FIXTURES = fileURLToPath(new URL('../../fixtures/strace/', import.meta.url));

export function replay(file: string, times = 1): { tracker: FdTracker; reader: StraceReader } {
  const tracker = new FdTracker();
  const reader = new StraceReader((e) => tracker.apply(e), (n) => CREATORS.has(n));
  const lines = readFileSync(`${FIXTURES}${file}`, 'utf8').split('\n');
  for (let t = 0; t < times; t++) for (const l of lines) reader.push(l);
  reader.end();
  return { tracker, reader };
}
