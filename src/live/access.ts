/**
 * Why the kernel refuses root the fd links of a process, from what fdleak can read about itself
 * and the refused process (no trial and error): /proc/self/status CapEff (is CAP_SYS_PTRACE
 * there?), /proc/self/uid_map (is fdleak in a user namespace of its own, as in a rootless
 * container?) and /proc/<pid>/status CapPrm of the refused process (which capabilities it holds
 * that fdleak lacks: without CAP_SYS_PTRACE, the kernel's ptrace check, cap_ptrace_access_check,
 * refuses a caller whose permitted set is not a superset of the target's). What cannot be seen
 * from here (a security module's policy) is what is left when none of these explains it.
 */
import { readFileSync } from 'node:fs';
import type { Access } from '../model/scan.js';

/** Capability numbers (include/uapi/linux/capability.h) -> names as capabilities(7) spells them. */
const CAPS = [
  'chown', 'dac_override', 'dac_read_search', 'fowner', 'fsetid', 'kill', 'setgid', 'setuid', 'setpcap',
  'linux_immutable', 'net_bind_service', 'net_broadcast', 'net_admin', 'net_raw', 'ipc_lock', 'ipc_owner',
  'sys_module', 'sys_rawio', 'sys_chroot', 'sys_ptrace', 'sys_pacct', 'sys_admin', 'sys_boot', 'sys_nice',
  'sys_resource', 'sys_time', 'sys_tty_config', 'mknod', 'lease', 'audit_write', 'audit_control', 'setfcap',
  'mac_override', 'mac_admin', 'syslog', 'wake_alarm', 'block_suspend', 'audit_read', 'perfmon', 'bpf',
  'checkpoint_restore',
];
const CAP_SYS_PTRACE = 19;

/** What fdleak can tell about why `refusedPid`'s fd links were refused (procRoot: the /proc it reads). */
export function probeAccess(procRoot: string, refusedPid: number): Access {
  const root = typeof process.geteuid === 'function' && process.geteuid() === 0;
  const mine = capsOf(readOrNull(`${procRoot}/self/status`), 'CapEff');
  const minePermitted = capsOf(readOrNull(`${procRoot}/self/status`), 'CapPrm');
  const theirs = capsOf(readOrNull(`${procRoot}/${refusedPid}/status`), 'CapPrm');
  const uidMap = readOrNull(`${procRoot}/self/uid_map`);
  return {
    root,
    ptrace: mine === null ? null : (mine & (1n << BigInt(CAP_SYS_PTRACE))) !== 0n,
    nestedUserns: uidMap === null ? null : uidMap.trim().split(/\s+/).join(' ') !== '0 0 4294967295',
    missingCaps: theirs === null || minePermitted === null ? [] : capNames(theirs & ~minePermitted),
  };
}

/** "CapEff:\t000001fffeffffff" of a status file -> the mask; null if absent. */
function capsOf(status: string | null, field: 'CapEff' | 'CapPrm'): bigint | null {
  const m = status === null ? null : new RegExp(`^${field}:\\s*([0-9a-f]+)$`, 'm').exec(status);
  return m === null ? null : BigInt(`0x${m[1]}`);
}

/** A capability mask -> ["cap_sys_resource", ...] in number order. */
function capNames(mask: bigint): string[] {
  const names: string[] = [];
  for (let bit = 0; mask >> BigInt(bit) !== 0n; bit++) {
    if ((mask & (1n << BigInt(bit))) !== 0n) names.push(`cap_${CAPS[bit] ?? String(bit)}`);
  }
  return names;
}

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'latin1');
  } catch {
    return null;
  }
}
