/**
 * What the fds of one process are "the same as", tallied as they are read: a path opened again and
 * again, one pipe held by many fds, eventfds by the hundred (rules/repeated-opens.ts). Targets are
 * keyed as /proc/<pid>/fd links read them (tallyKey); only fds above 2 count, and no fd record is
 * made for them. A process's tally holds at most MAX_TARGETS distinct targets, so a capture's memory
 * stays bounded (a leak's target, held by many fds, is met early).
 */
import type { FdKind } from '../../model/fd.js';
import { FD_KINDS } from '../../model/fd-kinds.js';
import { detach } from '../../capture/text-input.js';
import { isDigits } from '../text.js';

const MAX_TARGETS = 10_000;

export interface RepeatedTarget { target: string; kind: FdKind; count: number }

/**
 * The target key of an fd: the path, "pipe:[inode]", or "anon_inode:<type>" (lsof's "[eventfd:16]",
 * "inotify" -> "anon_inode:eventfd", "anon_inode:inotify"); null for sockets and what cannot be told apart.
 */
export function tallyKey(kind: FdKind, name: string, node: string | null): string | null {
  if (kind === 'file') return name === '' ? null : name;
  if (kind === 'pipe') return node === null ? null : `pipe:[${node}]`;
  if (kind === 'anon_inode') {
    const bare = name.startsWith('[') && name.endsWith(']') ? name.slice(1, -1) : name;
    const colon = bare.indexOf(':');
    return `anon_inode:${colon > 0 && isDigits(bare.slice(colon + 1)) ? bare.slice(0, colon) : bare}`;
  }
  return null;
}

const FILE = FD_KINDS.indexOf('file');

/**
 * One process's tally: target key -> how many fds hold it and its kind, as one number
 * (count * 8 + the kind's index: no object per target, a capture of a big box tallies many).
 */
export class Targets {
  private readonly byKey = new Map<string, number>();
  /** The key of the last fd tallied (detached): a leak's fds on one path come one after another. */
  private lastKey: string | null = null;

  /** One more fd on `key` (a string the caller may have cut from a piece: detached when kept). */
  add(key: string, kind: FdKind): void {
    const t = this.byKey.get(key);
    if (t !== undefined) {
      this.byKey.set(key, t + 8);
      this.lastKey = detach(key); // not the caller's slice: that would keep its piece alive
    } else if (this.byKey.size < MAX_TARGETS) {
      this.lastKey = detach(key);
      this.byKey.set(this.lastKey, 8 + FD_KINDS.indexOf(kind));
    }
  }

  /** add() of a file whose NAME is text[s, e), without cutting a string when it is the last fd's target. */
  addFileAt(text: string, s: number, e: number): void {
    const last = this.lastKey;
    if (last !== null && e - s === last.length && text.startsWith(last, s)) {
      const t = this.byKey.get(last)!;
      if (t % 8 === FILE) return void this.byKey.set(last, t + 8);
    }
    if (e > s) this.add(text.slice(s, e), 'file');
  }

  /** The targets held by more than one fd, in the order first met. */
  repeated(): RepeatedTarget[] {
    const out: RepeatedTarget[] = [];
    for (const [target, t] of this.byKey) if (t >= 16) out.push({ target, kind: FD_KINDS[t % 8]!, count: Math.floor(t / 8) });
    return out;
  }
}
