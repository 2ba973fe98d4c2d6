/** Runs the built CLI the way a user does: `node bin/fdleak.js ...`, env reduced to PATH and NO_COLOR=1. */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * `node bin/fdleak.js ...args`; `prefix` runs it under another command (e.g. setpriv ...); `path`:
 * the PATH it gets (default: the test's own).
 */
export async function runFdleak(args: string[], prefix: string[] = [], timeoutMs = 20_000, path = process.env.PATH ?? '/usr/bin:/bin'): Promise<CliResult> {
  if (!existsSync(`${ROOT}/dist/cli/main.js`)) throw new Error('dist/ is missing: build first (npm run build)');
  const argv = [...prefix, process.execPath, 'bin/fdleak.js', ...args];
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: ROOT, env: { PATH: path, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
  child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));
  clearTimeout(timer);
  return { code, stdout, stderr };
}
