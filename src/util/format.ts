import type { Endpoint } from '../model/socket.js';

/** "127.0.0.1:3306", "[::1]:443", "*:80" (wildcard address), "/run/x.sock" for unix paths. */
export function formatEndpoint(e: Endpoint | null): string {
  if (e === null) return '-';
  if (e.port === null) return e.address;
  const host = e.address.includes(':') ? `[${e.address}]` : e.address;
  return `${host}:${e.port === 0 ? '*' : e.port}`;
}

/** 12.5 -> "12.5%", 100/3 -> "33.3%". */
export function percent(part: number, whole: number): string {
  if (whole <= 0) return 'n/a';
  return `${(Math.round((part / whole) * 1000) / 10).toString()}%`;
}
/** "1 socket" / "3 sockets". */
export function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}

/**
 * [3,4,5,9] -> ["3-5", "9"]: runs of consecutive numbers, in order. Sorted as a typed array: its
 * sort is numeric and native, where Array.sort calls a comparator per comparison (the orphan fds of
 * the 1M-line socket-heavy capture, 132,000 of them: ~12 ms of the rules' time, --cpu-prof).
 */
export function numberRuns(numbers: readonly number[]): string[] {
  const sorted = Float64Array.from(numbers).sort();
  const runs: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    runs.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return runs;
}
