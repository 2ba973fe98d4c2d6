/**
 * The sysctls that matter for socket leaks, from a /proc/sys tree: net.ipv4.ip_local_port_range
 * ("32768\t60999"), tcp_fin_timeout, tcp_tw_reuse, tcp_max_tw_buckets, net.core.somaxconn (all per
 * network namespace: /proc/sys/net shows the namespace of the reader), fs.file-nr
 * ("allocated\t0\tmax") and fs.nr_open (host-wide).
 */
import { existsSync, readFileSync } from 'node:fs';
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

/**
 * Pure: values in the order of NET_SYSCTL_FILES (null where unreadable, or not an integer: the
 * schema's type, which the live snapshot, not checked by zod, must hold by construction:
 * model/live-snapshot.ts).
 */
export function parseNetSysctls(values: ReadonlyArray<string | null>): NetSysctls {
  const num = (t: string | null | undefined): number | null => {
    const n = Number((t ?? '').trim());
    return t === null || t === undefined || (t ?? '').trim() === '' || !Number.isInteger(n) ? null : n;
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

/** Programs run by absolute path only, never found through PATH (a fake `nsenter` first on root's PATH would run as root). */
const NSENTER = ['/usr/bin/nsenter', '/bin/nsenter', '/usr/sbin/nsenter'];
const GREP = ['/usr/bin/grep', '/bin/grep'];

function systemProgram(candidates: readonly string[]): string | undefined {
  return candidates.find((path) => existsSync(path));
}

/**
 * The per-namespace sysctls of another network namespace (`netnsPath`: /proc/<pid>/ns/net).
 * /proc/sys/net shows the namespace of the process reading it, so this reads it from inside:
 * `nsenter --net=<netnsPath> grep -H "" <files>` (root only), one process per namespace, killed
 * after `timeoutMs`. grep -H prefixes each value with its file, so a file the kernel lacks costs
 * only that value. `{ error }`, saying why, when it could not be run.
 */
export async function readNetSysctlsIn(netnsPath: string, timeoutMs = 5000): Promise<NetSysctls | { error: string }> {
  const nsenter = systemProgram(NSENTER);
  const grep = systemProgram(GREP);
  if (nsenter === undefined || grep === undefined) return { error: `${nsenter === undefined ? 'nsenter' : 'grep'} not found in /usr/bin or /bin` };
  const files = NET_SYSCTL_FILES.map((f) => `/proc/sys/${f}`);
  // node:child_process rather than execa: execa takes 35-45 ms of CPU to load here, more than
  // scan's whole table reading, for one fixed command that needs nothing of it but a timeout.
  // Loaded here, not at the top: node:child_process costs every scan and diagnose start-up a few ms.
  const { execFile } = process.getBuiltinModule('node:child_process');
  const r = await new Promise<{ stdout: string; error: string | null }>((resolve) => {
    execFile(nsenter, [`--net=${netnsPath}`, grep, '-H', '', ...files], { timeout: timeoutMs, killSignal: 'SIGKILL', env: { LC_ALL: 'C' }, encoding: 'utf8', maxBuffer: 1 << 16 }, (error, stdout, stderr) => {
      const timedOut = error !== null && (error as { killed?: boolean }).killed === true;
      resolve({ stdout, error: timedOut ? `did not answer within ${timeoutMs} ms` : stderr.split('\n')[0] || (error === null ? null : error.message.split('\n')[0]!) });
    });
  });
  const byFile = new Map<string, string>();
  for (const line of r.stdout.split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) byFile.set(line.slice(0, colon), line.slice(colon + 1));
  }
  if (byFile.size === 0) return { error: `nsenter --net=${netnsPath}: ${r.error ?? 'no output'}` };
  return parseNetSysctls(files.map((f) => byFile.get(f) ?? null));
}
