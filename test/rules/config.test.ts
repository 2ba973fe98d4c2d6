import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { effectiveThresholds, engineOptions, loadRuleConfig } from '../../src/rules/config.js';
import { runRules } from '../../src/rules/engine.js';
import closeWait from '../../src/rules/close-wait.js';
import { runRuleCase } from '../helpers/rule-case.js';

const dir = mkdtempSync(join(tmpdir(), 'fdleak-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A directory holding fdleak.config.json with `doc` (a string is written as is). */
function withFile(doc: unknown): string {
  const d = mkdtempSync(join(dir, 'c-'));
  writeFileSync(join(d, 'fdleak.config.json'), typeof doc === 'string' ? doc : JSON.stringify(doc));
  return d;
}

const message = (f: () => unknown): string => {
  try {
    f();
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    return (error as Error).message;
  }
  throw new Error('did not throw');
};

describe('rule configuration (--set, fdleak.config.json, --config)', () => {
  it('has nothing to say without a file or --set', () => {
    const c = loadRuleConfig({ cwd: dir });
    expect([c.thresholds, [...c.off], [...c.origins]]).toEqual([{}, [], []]);
    expect(engineOptions(c)).toEqual({ thresholds: {} });
  });

  it('reads the file in the working directory, then --set over it, and says where each value came from', () => {
    const cwd = withFile({ rules: { 'close-wait': { min: 5, critical: 50 }, 'time-wait': 'off', 'fd-limit': { off: true } } });
    const c = loadRuleConfig({ cwd, sets: ['close-wait.min=7', 'fd-limit=on', 'deleted-files.off=true'] });
    expect(c.thresholds).toEqual({ 'close-wait': { min: 7, critical: 50 } });
    expect([...c.off]).toEqual([['time-wait', 'fdleak.config.json'], ['deleted-files', '--set']]);
    expect(effectiveThresholds(closeWait, c)).toEqual([
      { key: 'min', value: 7, default: 10, origin: '--set' },
      { key: 'critical', value: 50, default: 1000, origin: 'fdleak.config.json' },
      { key: 'evidence', value: 5, default: 5, origin: 'default' },
      { key: 'listenerPeers', value: 3, default: 3, origin: 'default' },
    ]);
    expect(engineOptions(c).only).not.toContain('time-wait');
    expect(engineOptions(c).only).toContain('fd-limit');
  });

  it('--config FILE replaces the working directory\'s file, and must exist', () => {
    const cwd = withFile({ rules: { 'close-wait': { min: 5 } } });
    const other = join(withFile({ rules: { 'close-wait': { min: 9 } } }), 'fdleak.config.json');
    expect(loadRuleConfig({ cwd, configPath: other }).thresholds).toEqual({ 'close-wait': { min: 9 } });
    expect(message(() => loadRuleConfig({ cwd, configPath: join(dir, 'nope.json') }))).toBe(`${join(dir, 'nope.json')}: cannot read the config file: no such file`);
  });

  it('changes a verdict: a threshold raised above the count silences the rule', async () => {
    const { snapshot, findings } = await runRuleCase('close-wait', 'fires-server-never-closes');
    expect(findings.map((f) => f.count)).toEqual([20]);
    const raised = loadRuleConfig({ cwd: dir, sets: ['close-wait.min=21'] });
    expect(runRules(snapshot, { ...engineOptions(raised), only: ['close-wait'] }).findings).toEqual([]);
    const off = loadRuleConfig({ cwd: withFile({ rules: { 'close-wait': 'off' } }) });
    expect(runRules(snapshot, engineOptions(off)).findings.filter((f) => f.rule === 'close-wait')).toEqual([]);
  });

  it('names what is wrong in one line: unknown rule, unknown threshold, bad value, bad file', () => {
    expect(message(() => loadRuleConfig({ cwd: dir, sets: ['close-wiat.min=5'] }))).toBe('--set: unknown rule "close-wiat" (run `fdleak rules` for the list)');
    expect(message(() => loadRuleConfig({ cwd: dir, sets: ['close-wiat=off'] }))).toBe('--set: unknown rule "close-wiat" (run `fdleak rules` for the list)');
    expect(message(() => loadRuleConfig({ cwd: dir, sets: ['close-wait.mni=5'] }))).toBe('--set: unknown threshold "mni" of close-wait (it has: min, critical, evidence, listenerPeers, off)');
    expect(message(() => loadRuleConfig({ cwd: dir, sets: ['close-wait.min=-1'] }))).toBe('--set: close-wait.min: expected a number >= 0, found "-1"');
    expect(message(() => loadRuleConfig({ cwd: dir, sets: ['close-wait.min='] }))).toBe('--set: close-wait.min: expected a number >= 0, found ""');
    expect(message(() => loadRuleConfig({ cwd: dir, sets: ['close-wait=maybe'] }))).toBe('--set: close-wait: expected off or on, found "maybe"');
    expect(message(() => loadRuleConfig({ cwd: dir, sets: ['min5'] }))).toBe('--set: expected RULE.THRESHOLD=VALUE or RULE=off, found "min5"');
    expect(message(() => loadRuleConfig({ cwd: withFile({ rules: { 'close-wiat': 'off' } }) }))).toBe('fdleak.config.json: unknown rule "close-wiat" (run `fdleak rules` for the list)');
    expect(message(() => loadRuleConfig({ cwd: withFile({ rules: { 'close-wait': { min: '5x' } } }) }))).toBe('fdleak.config.json: close-wait.min: expected a number >= 0, found "5x"');
    expect(message(() => loadRuleConfig({ cwd: withFile({ rules: { 'close-wait': 5 } }) }))).toBe('fdleak.config.json: close-wait: expected "off", "on" or an object of thresholds, found 5');
    expect(message(() => loadRuleConfig({ cwd: withFile({ rule: {} }) }))).toBe('fdleak.config.json: unknown key "rule" (expected "rules")');
    expect(message(() => loadRuleConfig({ cwd: withFile('{"rules": {') }))).toMatch(/^fdleak\.config\.json: not valid JSON: [^\n]+$/);
    expect(message(() => loadRuleConfig({ cwd: withFile('[1]') }))).toBe('fdleak.config.json: expected a JSON object { "rules": { ... } }');
  });

  it('keeps a file\'s own text out of the terminal: a rule id with an escape sequence is shown escaped', () => {
    expect(message(() => loadRuleConfig({ cwd: dir, sets: ['\u001b]0;x\u0007.min=1'] }))).toBe('--set: unknown rule "\\x1b]0;x\\x07" (run `fdleak rules` for the list)');
  });
});
