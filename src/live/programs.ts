/**
 * The helper programs fdleak runs (nsenter, ss, cat), found in the system directories by absolute
 * path, never through PATH: fdleak runs as root, and whoever can put a directory first on root's
 * PATH must not get a program of theirs run by it. One way to run them: node:child_process execFile
 * with an argv (no shell), a timeout, no input, the output bounded.
 */
import type { ExecFileOptions } from 'node:child_process';
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
  const { failed, stdout } = await runWithoutInput(cmd, args, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: MAX_OUTPUT, env: { PATH: SYSTEM_DIRS.join(':') }, encoding: 'utf8' });
  // As execa gave it: the text, less one final newline; null for a failure, a timeout, too much.
  return failed ? null : stdout.replace(/\r?\n$/, '');
}

/**
 * `file` run with `args` (no shell) and no input (its stdin closed at once), through
 * node:child_process's execFile, not execa: importing execa took 110-146 ms here (3 fresh runs of
 * node on the 2-core machine), more than the programs fdleak runs take. Spawned before this returns.
 * Resolves to what it printed on stdout (as `options.encoding` decodes it), and whether it failed:
 * a non-zero exit, a signal, `options.timeout` passed or more than `options.maxBuffer` printed (it
 * is killed then). The one way runIn and socket-protocols.ts's lsof run their programs.
 */
export function runWithoutInput(file: string, args: readonly string[], options: ExecFileOptions & { encoding: 'utf8' | 'latin1' }): Promise<{ failed: boolean; stdout: string }> {
  const { execFile } = process.getBuiltinModule('node:child_process');
  return new Promise((resolve) => {
    const child = execFile(file, args, options, (error, stdout) => resolve({ failed: error !== null, stdout }));
    child.stdin?.on('error', () => {}); // it exited first: its answer says so
    child.stdin?.end(); // no input
  });
}

/** The most output kept of a helper program (ss -ltn of a host with many listeners stays far below). */
const MAX_OUTPUT = 64 << 20;
