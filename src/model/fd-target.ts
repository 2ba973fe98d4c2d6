/**
 * What the text of a /proc/<pid>/fd/<n> link says ("socket:[12345]", "pipe:[45]", "/var/log/x.log",
 * "anon_inode:[eventpoll]"): its kind and its inode. The one reader of that text, for diagnose's fd
 * records (model/fd.ts) and scan's walk (live/fd-walk.ts). No zod here: the scan helper thread
 * bundles this file.
 */
import type { FdKind } from './fd.js';

/** Kind of a /proc/<pid>/fd link target. By first character: one compare decides most of them. */
export function fdKindOfTarget(target: string): FdKind {
  switch (target.charCodeAt(0)) {
    case 0x2f: return 'file'; // "/"
    case 0x73: return target.startsWith('socket:[') ? 'socket' : 'other';
    case 0x70: return target.startsWith('pipe:[') ? 'pipe' : 'other';
    case 0x61: return target.startsWith('anon_inode:') ? 'anon_inode' : 'other';
    default: return 'other';
  }
}

/** "socket:[12345]" -> "12345"; anything else -> null. */
export function inodeOfTarget(target: string): string | null {
  const open = target.indexOf(':[');
  if (open < 0 || !target.endsWith(']')) return null;
  const digits = target.slice(open + 2, -1);
  return /^\d+$/.test(digits) ? digits : null;
}

/**
 * "socket:[12345]" -> 12345, anything else -> -1: scan's test of every link it reads, by character
 * codes (115 is "s", 58 is ":"), no string made. Socket inodes are 32-bit (get_next_ino), so exact.
 */
export function socketInodeOf(target: string): number {
  if (target.charCodeAt(0) !== 115 || target.charCodeAt(6) !== 58 || !target.startsWith('socket:[')) return -1;
  let inode = 0;
  for (let i = 8; i < target.length - 1; i++) {
    const d = target.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    inode = inode * 10 + d;
  }
  return inode;
}
