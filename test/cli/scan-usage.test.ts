/** `scan --sample`, `--sort growth` and `--group`: usage errors exit 2 with one line naming the option. */
import { describe, expect, it } from 'vitest';
import { runFdleak } from '../helpers/cli.js';

describe('scan usage', () => {
  it.each([
    [['--sort', 'growth'], /^fdleak: --sort: --sort growth needs --sample <duration>/],
    [['--sample', '2x'], /^fdleak: --sample: /],
    [['--sample', '-1s'], /--sample/],
    [['--group', 'pod'], /group/],
    [['--group', 'unit', '--prometheus'], /^fdleak: --group: --group is for the table and --json/],
  ])('scan %j: exit 2, one line', async (args, message) => {
    const r = await runFdleak(['scan', ...args]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
  });
});
