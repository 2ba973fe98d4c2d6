/** Every registered rule has its file, test, fires-/quiet- fixtures, and a row in README's rule table. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RULES } from '../../src/rules/index.js';

const root = new URL('../../', import.meta.url).pathname;
// README.md, and the drafts of its new sections (docs-draft/*.md) until they are merged into it.
const drafts = existsSync(`${root}docs-draft`) ? readdirSync(`${root}docs-draft`).filter((n) => n.endsWith('.md')).map((n) => readFileSync(`${root}docs-draft/${n}`, 'utf8')) : [];
const readme = [readFileSync(`${root}README.md`, 'utf8'), ...drafts].join('\n');
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
