/**
 * bin/fdleak.js run as a command (as npx and a global install run it) goes through its sh line,
 * which re-runs it under node without NODE_EXTRA_CA_CERTS: Node 20 parses that bundle before any JS
 * runs, for TLS fdleak never does. A bundle that cannot be loaded makes node say so on stderr,
 * which tells the two ways apart. `node bin/fdleak.js` must keep working as the contract says.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../../bin/fdleak.js', import.meta.url));
const ENV = { PATH: process.env.PATH ?? '/usr/bin:/bin', NO_COLOR: '1', NODE_EXTRA_CA_CERTS: '/nonexistent/ca.pem' };
const VERSION = /^\d+\.\d+\.\d+\n$/;

describe('bin/fdleak.js', () => {
  it('run as a command, starts node without NODE_EXTRA_CA_CERTS and passes every argument on', () => {
    const r = spawnSync(BIN, ['--version'], { env: ENV, encoding: 'utf8' });
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
    expect(r.stdout).toMatch(VERSION);
    const odd = spawnSync(BIN, ['diagnose', 'not a pid; $(true)'], { env: ENV, encoding: 'utf8' });
    expect(odd.status).toBe(2);
    expect(odd.stderr).toMatch(/not a pid; \$\(true\)/); // one argument, spaces and all, not run by the shell
  });

  it('run by node, works the same (node has read the bundle by then, and says it could not)', () => {
    const r = spawnSync(process.execPath, [BIN, '--version'], { env: ENV, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(VERSION);
    expect(r.stderr).toMatch(/Ignoring extra certs from `\/nonexistent\/ca\.pem`/);
  });
});
