/**
 * The helper programs fdleak runs (nsenter, ss, cat), found in the system directories by absolute
 * path, never through PATH: fdleak runs as root, and whoever can put a directory first on root's
 * PATH must not get a program of theirs run by it. One way to run them: execa with an argv (no
 * shell), a timeout, no stdin.
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
  const { execa } = await import('execa');
  try {
    const result = await execa(cmd, args, { reject: false, timeout: timeoutMs, stdin: 'ignore', stderr: 'ignore', env: { PATH: SYSTEM_DIRS.join(':') }, extendEnv: false });
    return result.exitCode === 0 && typeof result.stdout === 'string' ? result.stdout : null;
  } catch {
    return null;
  }
}
