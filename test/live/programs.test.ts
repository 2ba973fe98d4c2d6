/**
 * fdleak runs as root: the helper programs it runs (nsenter, ss, cat through nsenter) are found in
 * the system directories by absolute path, never through PATH. Here a directory of fakes comes
 * first on PATH (nsenter, ss, cat and node, each writing a marker file if it is ever run) while
 * `fdleak diagnose` looks at a process that needs all of them: in another network namespace (so
 * its sysctls are read through nsenter) with a listener whose queue is not empty (so ss runs, in
 * that namespace, for the backlog limit). None of the fakes may run, and the real programs must
 * have answered: the backlog limit is in the report, and no warning says a program failed.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runIn, systemProgram } from '../../src/live/programs.js';
import { runFdleak } from '../helpers/cli.js';
import { netnsSupport, startScenario, stopAll } from '../helpers/netns.js';

const FAKES = ['nsenter', 'ss', 'cat', 'node'] as const;
const dir = mkdtempSync(join(tmpdir(), 'fdleak-fake-path-'));
const fakeBin = join(dir, 'bin');
const markers = join(dir, 'ran');
afterAll(async () => {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
});

/** A fresh directory of fakes, each writing its marker when run, and an empty marker directory. */
function makeFakes(): void {
  for (const d of [fakeBin, markers]) {
    rmSync(d, { recursive: true, force: true });
    mkdirSync(d, { recursive: true });
  }
  for (const name of FAKES) {
    const path = join(fakeBin, name);
    writeFileSync(path, `#!/bin/sh\necho "$0 $*" > ${join(markers, name)}\nexit 1\n`);
    chmodSync(path, 0o755);
  }
}

describe('helper programs are run by absolute path', () => {
  it('systemProgram finds them in the system directories, whatever PATH says', () => {
    const saved = process.env.PATH;
    process.env.PATH = fakeBin;
    try {
      for (const name of ['nsenter', 'ss', 'cat'] as const) expect(systemProgram(name)).toMatch(new RegExp(`^/(usr/)?s?bin/${name}$`));
    } finally {
      process.env.PATH = saved;
    }
  });

  it('diagnose of a queued listener in another namespace: nsenter, ss and cat of PATH never run', async (ctx) => {
    const ns = netnsSupport();
    if (!ns.ok) ctx.skip(`cannot create a network namespace here: ${ns.reason}`);
    makeFakes();
    // The fakes work: run through PATH, one leaves its marker (then the marker directory is emptied).
    expect(spawnSync('sh', ['-c', 'ss -V'], { env: { PATH: `${fakeBin}:/usr/bin:/bin` } }).status).toBe(1);
    expect(readdirSync(markers)).toEqual(['ss']);
    rmSync(join(markers, 'ss'));
    const s = await startScenario('backlog-listener.py', ['--port=47170', '--backlog=8', '--connect=7', '--close=3'], {
      sysctls: { 'net/ipv4/ip_local_port_range': '40000 40999' },
    });
    // The fakes come first: a PATH lookup of any of them would find the fake.
    const r = await runFdleak(['diagnose', String(s.pid), '--json'], [], 20_000, `${fakeBin}:${process.env.PATH ?? '/usr/bin:/bin'}`);
    expect(readdirSync(markers)).toEqual([]);
    expect(r.stderr).toBe('');
    const doc = JSON.parse(r.stdout) as { warnings: string[]; findings: Array<{ rule: string; evidence: Array<Record<string, unknown>> }> };
    expect(doc.warnings).toEqual([]); // nsenter + cat and ss both answered
    // ss ran in the process's namespace: the listen(8) limit is known.
    expect(doc.findings.find((f) => f.rule === 'accept-backlog')?.evidence[0]).toMatchObject({ queued: 7, backlog: 8 });
  });
});

describe('runIn', () => {
  it('gives the stdout less its last newline, and null for a failure, a hang past the timeout or a flood', async () => {
    const path = '/proc/sys/net/ipv4/ip_local_port_range';
    expect(await runIn(null, ['cat', path], 5000)).toBe(readFileSync(path, 'latin1').replace(/\n$/, ''));
    expect(await runIn(null, ['cat', join(dir, 'missing')], 5000)).toBeNull(); // exit 1
    // A FIFO no one writes to: cat waits for a writer until the timeout kills it.
    const fifo = join(dir, 'fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const t0 = performance.now();
    expect(await runIn(null, ['cat', fifo], 300)).toBeNull();
    expect(performance.now() - t0).toBeLessThan(4000);
    // More stdout than any answer of these programs (64 MiB): killed, null, memory bounded.
    expect(await runIn(null, ['cat', '/dev/zero'], 20_000)).toBeNull();
  });
});
