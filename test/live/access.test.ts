import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { probeAccess } from '../../src/live/access.js';

let root: string | undefined;
afterEach(() => { if (root !== undefined) rmSync(root, { recursive: true, force: true }); });

/** A /proc tree with fdleak's own status and uid_map and one refused process's status (lines as the kernel writes them). */
function tree(selfEff: string, selfPrm: string, uidMap: string, targetPrm: string): string {
  root = mkdtempSync(join(tmpdir(), 'fdleak-access-'));
  mkdirSync(join(root, 'self'));
  mkdirSync(join(root, '1'));
  writeFileSync(join(root, 'self', 'status'), `Name:\tnode\nCapInh:\t0000000000000000\nCapPrm:\t${selfPrm}\nCapEff:\t${selfEff}\n`);
  writeFileSync(join(root, 'self', 'uid_map'), uidMap);
  writeFileSync(join(root, '1', 'status'), `Name:\tprocess_api\nCapPrm:\t${targetPrm}\nCapEff:\t${targetPrm}\n`);
  return root;
}

describe('probeAccess', () => {
  it('as on this lab VM: CAP_SYS_PTRACE held, pid 1 holds cap_sys_resource that fdleak lacks', () => {
    // The values of /proc/self/status and /proc/1/status here (bit 24, CAP_SYS_RESOURCE, missing from fdleak's sets).
    const a = probeAccess(tree('000001fffeffffff', '000001fffeffffff', '         0          0 4294967295\n', '000001ffffffffff'), 1);
    expect(a).toMatchObject({ ptrace: true, nestedUserns: false, missingCaps: ['cap_sys_resource'] });
  });
  it('a container without CAP_SYS_PTRACE (setpriv --bounding-set=-sys_ptrace), in a user namespace of its own', () => {
    const a = probeAccess(tree('000001fffef7ffff', '000001fffef7ffff', '         0     100000      65536\n', '000001ffffffffff'), 1);
    expect(a).toMatchObject({ ptrace: false, nestedUserns: true, missingCaps: ['cap_sys_ptrace', 'cap_sys_resource'] });
  });
  it('says nothing it could not read', () => {
    root = mkdtempSync(join(tmpdir(), 'fdleak-access-'));
    expect(probeAccess(root, 1)).toMatchObject({ ptrace: null, nestedUserns: null, missingCaps: [] });
  });
});
