/**
 * The helper programs fdleak runs (nsenter, ss, cat), found in the system directories by absolute
 * path, never through PATH: fdleak runs as root, and whoever can put a directory first on root's
 * PATH must not get a program of theirs run by it. One way to run them: node:child_process spawn
 * with an argv (no shell), a timeout, no stdin, stdout bounded.
 */
import { accessSync, constants } from 'node:fs';

/** Where Debian 12 (merged /usr: /usr/bin/ss, /usr/bin/nsenter) and other distributions put them. */
const SYSTEM_DIRS = ['/usr/bin', '/usr/sbin', '/bin', '/sbin'] as const;

/** The absolute path of a system program, or null where no system directory has it. */
export function systemProgram(name: 'nsenter' | 'ss' | 'cat'): string | null {
  for (const dir of SYSTEM_DIRS) {
    const path = `${dir}/${name}`;
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not here
    }
  }
  return null;
}

/**
 * `argv` run in the network namespace at `netnsPath` (through nsenter) or in fdleak's own (null);
 * its stdout, or null where a program is missing, fails, or does not finish within `timeoutMs`.
 */
export async function runIn(netnsPath: string | null, argv: readonly string[], timeoutMs: number): Promise<string | null> {
  const program = systemProgram(argv[0] as 'ss');
  if (program === null) return null;
  let cmd = program;
  let args = argv.slice(1);
  if (netnsPath !== null) {
    const nsenter = systemProgram('nsenter');
    if (nsenter === null) return null;
    cmd = nsenter;
    args = [`--net=${netnsPath}`, program, ...args];
  }
  // node:child_process, not execa: importing execa took 110-146 ms here (3 fresh runs of node on
  // the 2-core machine), and a diagnose of a process in another namespace waited for it (nsenter
  // for its sysctls) after its tables were parsed.
  const { spawn } = await import('node:child_process');
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    let size = 0;
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'ignore'], env: { PATH: SYSTEM_DIRS.join(':') }, timeout: timeoutMs, killSignal: 'SIGKILL' });
    } catch {
      resolve(null);
      return;
    }
    child.stdout!.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_OUTPUT) parts.push(chunk);
      else child.kill('SIGKILL'); // more than any answer of these programs: not one
    });
    child.on('error', () => resolve(null)); // not started (then no 'close'), or not killable
    child.on('close', (code) => {
      // As execa gave it: the text, less one final newline.
      resolve(code === 0 && size <= MAX_OUTPUT ? Buffer.concat(parts).toString('utf8').replace(/\r?\n$/, '') : null);
    });
  });
}

/** The most stdout kept of a helper program (ss -ltn of a host with many listeners stays far below). */
const MAX_OUTPUT = 64 << 20;
