/**
 * The sysctls that matter for socket leaks, from a /proc/sys tree: net.ipv4.ip_local_port_range
 * ("32768\t60999"), tcp_fin_timeout, tcp_tw_reuse, tcp_max_tw_buckets, net.core.somaxconn (all per
 * network namespace: /proc/sys/net shows the namespace of the reader), fs.file-nr
 * ("allocated\t0\tmax") and fs.nr_open (host-wide).
 */
import { readFileSync } from 'node:fs';
import type { NetSysctls } from '../model/snapshot.js';

export const NET_SYSCTL_FILES = [
  'net/ipv4/ip_local_port_range',
  'net/ipv4/tcp_fin_timeout',
  'net/ipv4/tcp_tw_reuse',
  'net/ipv4/tcp_max_tw_buckets',
  'net/core/somaxconn',
] as const;

/** Reads the per-namespace sysctls below `sysRoot` (e.g. "/proc/sys"); missing files give null. */
export function readNetSysctls(sysRoot: string): NetSysctls {
  return parseNetSysctls(NET_SYSCTL_FILES.map((f) => readOrNull(`${sysRoot}/${f}`)));
}

/** Pure: values in the order of NET_SYSCTL_FILES (null where unreadable). */
export function parseNetSysctls(values: ReadonlyArray<string | null>): NetSysctls {
  const num = (t: string | null | undefined): number | null => {
    const n = Number((t ?? '').trim());
    return t === null || t === undefined || (t ?? '').trim() === '' || !Number.isFinite(n) ? null : n;
  };
  const range = (values[0] ?? '').trim().split(/\s+/).map(Number);
  return {
    ipLocalPortRange: range.length === 2 && range.every(Number.isInteger) ? [range[0]!, range[1]!] : null,
    tcpFinTimeout: num(values[1]),
    tcpTwReuse: num(values[2]),
    tcpMaxTwBuckets: num(values[3]),
    somaxconn: num(values[4]),
  };
}

/** fs.file-nr and fs.nr_open below `sysRoot`. */
export function readHostSysctls(sysRoot: string): { fileNr: { allocated: number; max: number } | null; nrOpen: number | null } {
  const fileNr = (readOrNull(`${sysRoot}/fs/file-nr`) ?? '').trim().split(/\s+/).map(Number);
  const nrOpen = Number((readOrNull(`${sysRoot}/fs/nr_open`) ?? '').trim());
  return {
    fileNr: fileNr.length === 3 && fileNr.every(Number.isInteger) ? { allocated: fileNr[0]!, max: fileNr[2]! } : null,
    nrOpen: Number.isInteger(nrOpen) && nrOpen > 0 ? nrOpen : null,
  };
}

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}
