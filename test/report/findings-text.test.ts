import { Chalk } from 'chalk';
import { describe, expect, it } from 'vitest';
import type { Finding } from '../../src/model/finding.js';
import { renderFindings } from '../../src/report/findings-text.js';

const c = new Chalk({ level: 0 });
const finding = (rule: string, pid: number): Finding => ({
  rule, severity: 'warning', score: 50, pid, command: 'app', count: 12,
  message: `${rule} in ${pid}`, evidence: [{ peer: '127.0.0.1:3306', count: 12 }], advice: `advice of ${rule}`, confidence: 'high',
});

describe('renderFindings', () => {
  it('gives a rule\'s advice once, at its first finding', () => {
    const text = renderFindings(c, [finding('close-wait', 1), finding('orphan-sockets', 2), finding('close-wait', 3)], true).join('\n');
    expect(text.match(/advice of close-wait/g)).toHaveLength(1);
    expect(text).toContain('3. WARNING close-wait  pid 3 app: close-wait in 3\n');
    expect(text).toMatch(/pid 3 app: close-wait in 3\n[^\n]*\n[^\n]*\n[^\n]*\n[^\n]*\n {3}why: see finding 1$/);
    expect(text.match(/advice of orphan-sockets/g)).toHaveLength(1);
  });

  it('shows the first findings in full and counts the rest by rule', () => {
    const many = [...Array.from({ length: 30 }, (_, i) => finding('orphan-sockets', 100 + i)), ...Array.from({ length: 5 }, (_, i) => finding('close-wait', 200 + i))];
    const text = renderFindings(c, many, true, 20).join('\n');
    expect(text).toMatch(/^35 findings, worst first/);
    expect(text).toContain('20. WARNING orphan-sockets  pid 119');
    expect(text).not.toContain('21. ');
    expect(text.trimEnd().split('\n').at(-1)).toBe('(+15 more findings: orphan-sockets 10, close-wait 5; --json lists all)');
  });

  it('lists a handful of findings whole, with no count line', () => {
    const text = renderFindings(c, [finding('fd-limit', 7)], false).join('\n');
    expect(text).toContain('1. WARNING fd-limit  fd-limit in 7');
    expect(text).not.toContain('more finding');
  });

  it('escapes text others chose (command, message, evidence cells) and keeps one line per finding', () => {
    const hostile: Finding = {
      ...finding('close-wait', 9), command: '\x1b]0;pwned\x07', message: 'held by pid 9 (a\nb\u202e)',
      evidence: [{ peer: '\x1b[2J127.0.0.1:1', count: 1 }],
    };
    const text = renderFindings(c, [hostile], true).join('\n');
    // eslint-disable-next-line no-control-regex
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e]/);
    expect(text).toContain('1. WARNING close-wait  pid 9 \\x1b]0;pwned\\x07: held by pid 9 (a\\nb\\u202e)\n');
    expect(text).toContain('\\x1b[2J127.0.0.1:1');
  });
});
