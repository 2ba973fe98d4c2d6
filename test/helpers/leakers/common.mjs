// Shared bits of the Node leakers: --name=value arguments, a bounded lifetime, the ready line.
import { readFileSync } from 'node:fs';

/** `--name=value` from argv as a number or string, else the default. */
export function arg(name, fallback) {
  const hit = process.argv.slice(2).find((a) => a.startsWith(`--${name}=`));
  if (hit === undefined) return fallback;
  const value = hit.slice(name.length + 3);
  return typeof fallback === 'number' ? Number(value) : value;
}

/** Exit by ourselves after `seconds` so nothing is left behind if the test runner dies. */
export function limitLifetime(seconds = arg('lifetime', 60)) {
  setTimeout(() => process.exit(0), seconds * 1000);
}

/** The one JSON line the test waits for. */
export function ready(info) {
  process.stdout.write(`${JSON.stringify({ ready: true, pid: process.pid, ...info })}\n`);
}

/** Rows of /proc/self/net/tcp (our netns): state code, local/remote port, inode. */
export function tcpRows() {
  return readFileSync('/proc/self/net/tcp', 'latin1').split('\n').slice(1).filter((l) => l.trim() !== '').map((l) => {
    const c = l.trim().split(/\s+/);
    return { st: c[3], localPort: parseInt(c[1].split(':')[1], 16), remotePort: parseInt(c[2].split(':')[1], 16), inode: c[9] };
  });
}

/** Resolves once `test()` is true (polled), rejects after `ms`. */
export async function until(test, ms = 10_000, what = 'condition') {
  const deadline = Date.now() + ms;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
