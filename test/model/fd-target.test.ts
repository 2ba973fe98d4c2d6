import { describe, expect, it } from 'vitest';
import { fdKindOfTarget, inodeOfTarget, socketInodeOf } from '../../src/model/fd-target.js';

describe('fd link targets', () => {
  it.each([
    ['socket:[438448]', 'socket', '438448', 438448],
    ['socket:[4294967295]', 'socket', '4294967295', 4294967295],
    ['pipe:[12]', 'pipe', '12', -1],
    ['anon_inode:[eventpoll]', 'anon_inode', null, -1],
    ['/var/log/socket:[1]', 'file', '1', -1],
    ['socket:[12x]', 'socket', null, -1],
  ] as const)('%s: kind, inode, socket inode', (target, kind, inode, socket) => {
    expect([fdKindOfTarget(target), inodeOfTarget(target), socketInodeOf(target)]).toEqual([kind, inode, socket]);
  });
});
