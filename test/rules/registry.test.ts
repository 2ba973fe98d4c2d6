/** Every registered rule has its file, test, fires-/quiet- fixtures, and a row in README's rule table (## Rules). */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RULES } from '../../src/rules/index.js';

const root = new URL('../../', import.meta.url).pathname;
// The rule table of README.md: the rows between its '## Rules' heading and the next '## ' heading.
const readmeText = readFileSync(`${root}README.md`, 'utf8');
const rulesStart = readmeText.indexOf('\n## Rules\n');
const rulesEnd = readmeText.indexOf('\n## ', rulesStart + 1);
const readme = rulesStart < 0 ? '' : readmeText.slice(rulesStart, rulesEnd < 0 ? undefined : rulesEnd);
const contract = ['accept-backlog', 'close-wait', 'deleted-files', 'fd-growth', 'fd-limit', 'fin-wait2', 'inotify-limit', 'orphan-sockets', 'repeated-opens', 'time-wait'];

describe('rule registry', () => {
  it('holds the live rules of the contract, alphabetically', () => {
    expect(RULES.map((r) => r.id)).toEqual(contract);
  });

  it.each(RULES.map((r) => [r.id, r] as const))('%s: file, test, fixtures, README row, thresholds described', (id, rule) => {
    expect(existsSync(`${root}src/rules/${id}.ts`)).toBe(true);
    expect(existsSync(`${root}test/rules/${id}.test.ts`)).toBe(true);
    const cases = readdirSync(`${root}fixtures/rules/${id}`);
    expect(cases.some((c) => c.startsWith('fires-'))).toBe(true);
    expect(cases.some((c) => c.startsWith('quiet-'))).toBe(true);
    expect(readme).toMatch(new RegExp(`^\\| \`${id}\` \\|`, 'm'));
    expect(Object.keys(rule.describe).sort()).toEqual(Object.keys(rule.defaults).sort());
    expect(rule.summary).toMatch(/^[a-zA-Z].*[^.]$/);
  });
});
