import { readdirSync } from 'node:fs';
import { Chalk } from 'chalk';
import Table from 'cli-table3';
import { describe, expect, it } from 'vitest';
import { analyzeCapture } from '../../src/capture/capture.js';
import { openLines } from '../../src/capture/text-input.js';
import type { Finding } from '../../src/model/finding.js';
import { COMPACT, evidenceTable, renderFindings, TABLE_STYLE, textTable } from '../../src/report/findings-text.js';
import { runRules } from '../../src/rules/engine.js';
import { safeText } from '../../src/util/safe-text.js';
import { rng } from '../parse/fuzz.js';

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

/** What cli-table3 draws for the table (the drawing textTable gives without it, for printable ASCII). */
function cliTable3(head: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number>>): string {
  const table = new Table({ head: [...head], style: TABLE_STYLE, ...COMPACT });
  for (const row of rows) table.push([...row]);
  return table.toString();
}

describe('textTable', () => {
  it('draws the evidence of every finding on the captures under fixtures/ as cli-table3 does', async () => {
    let tables = 0;
    for (const dir of ['lsof', 'lsof-F', 'ss', 'netstat', 'proc-net']) {
      for (const name of readdirSync(`fixtures/${dir}`).filter((n) => n.endsWith('.txt'))) {
        let capture;
        try {
          capture = await analyzeCapture([await openLines(`fixtures/${dir}/${name}`, process.stdin)], undefined, '2026-12-03T00:00:00.000Z');
        } catch {
          continue; // the damaged and empty captures: exit 2, no report
        }
        for (const f of runRules(capture.snapshot, {}).findings.filter((x) => x.evidence.length > 0)) {
          const keys = [...new Set(f.evidence.flatMap((row) => Object.keys(row)))];
          const rows = f.evidence.map((row) => keys.map((k) => (row[k] === null || row[k] === undefined ? '-' : safeText(String(row[k])))));
          expect(evidenceTable(f), `${dir}/${name} ${f.rule}`).toBe(cliTable3(keys.map(safeText), rows));
          tables++;
        }
      }
    }
    expect(tables).toBeGreaterThan(20);
  });

  it('draws random tables as cli-table3 does: printable ASCII (drawn here), wide, combining and coloured text (cli-table3 draws it)', () => {
    const r = rng(0x7ab1e);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
    const ascii = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i));
    const other = ['é', '中', '😀', 'e\u0301', '\x1b[31mred\x1b[39m', '\u00a0', '─'];
    let drawnHere = 0;
    for (let t = 0; t < 400; t++) {
      const wide = t % 3 === 0;
      const cell = (): string | number => {
        if (r() < 0.2) return Math.floor(r() * 100_000) - (r() < 0.1 ? 50_000 : 0);
        const n = Math.floor(r() * 12);
        let text = '';
        for (let i = 0; i < n; i++) text += wide && r() < 0.15 ? pick(other) : r() < 0.2 ? ' ' : pick(ascii);
        return text;
      };
      const cols = 1 + Math.floor(r() * 6);
      const head = Array.from({ length: cols }, () => `${cell()}`);
      const rows = Array.from({ length: Math.floor(r() * 6) }, () => Array.from({ length: cols }, cell));
      expect(textTable(head, rows), JSON.stringify({ head, rows })).toBe(cliTable3(head, rows));
      if ([head, ...rows].every((row) => row.every((c) => /^[\x20-\x7e]*$/.test(`${c}`)))) drawnHere++;
    }
    expect(drawnHere).toBeGreaterThan(200);
  });
});
