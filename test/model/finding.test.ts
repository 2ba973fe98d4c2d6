/** Every rule's findings on its captured fires- cases are valid FindingSchema records, and junk is not. */
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FindingSchema } from '../../src/model/finding.js';
import { RULE_FIXTURES, runRuleCase } from '../helpers/rule-case.js';

// fires-lsof cases are lsof captures (read by analyze), not /proc trees.
const cases = readdirSync(RULE_FIXTURES).flatMap((rule) =>
  readdirSync(`${RULE_FIXTURES}${rule}`).filter((c) => c.startsWith('fires-') && c !== 'fires-lsof' && rule !== 'fd-growth').map((c) => [rule, c] as const));

describe('FindingSchema', () => {
  it.each(cases)('%s/%s: every finding is valid', async (rule, name) => {
    const { findings } = await runRuleCase(rule, name);
    expect(findings.length).toBeGreaterThan(0);
    for (const f of findings) expect(FindingSchema.safeParse(f).success, JSON.stringify(f)).toBe(true);
  });

  it('refuses an unknown severity, a nested evidence value, a negative count', async () => {
    const [rule, name] = cases[0]!;
    const f = (await runRuleCase(rule, name)).findings[0]!;
    expect(FindingSchema.safeParse({ ...f, severity: 'fatal' }).success).toBe(false);
    expect(FindingSchema.safeParse({ ...f, evidence: [{ peer: { address: '127.0.0.1' } }] }).success).toBe(false);
    expect(FindingSchema.safeParse({ ...f, count: -1 }).success).toBe(false);
  });
});
