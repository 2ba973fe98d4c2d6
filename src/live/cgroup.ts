/**
 * Where a running process lives: /proc/<pid>/cgroup read and classified (parse/cgroup.ts). For
 * `diagnose` (the header, --json) and `scan` (a column, `--group unit|container`, a label).
 */
import { readFileSync } from 'node:fs';
import type { Location } from '../model/location.js';
import { parseCgroupLocation } from '../parse/cgroup.js';

/**
 * The location of `pid` below `procRoot`; null when it lives at the root, or its cgroup file cannot
 * be read (gone, permission): a missing location is never an error.
 */
export function locationOf(procRoot: string, pid: number): Location | null {
  let text: string;
  try {
    text = readFileSync(`${procRoot}/${pid}/cgroup`, 'utf8');
  } catch {
    return null;
  }
  return parseCgroupLocation(text);
}

/**
 * The location in a cgroup file read by `read` (scan reads it into its shared buffer), each
 * distinct text classified once (`seen`): a box's processes share a handful. Null at the root or
 * when the file cannot be read (gone, refused, a captured tree without it): never an error.
 */
export function locationFromFile(read: () => Buffer, seen: Map<string, Location | null>): Location | null {
  let text: string;
  try {
    text = read().toString('utf8');
  } catch {
    return null;
  }
  let place = seen.get(text);
  if (place === undefined) {
    place = parseCgroupLocation(text);
    seen.set(text, place);
  }
  return place;
}
