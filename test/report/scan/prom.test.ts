import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { scanProcesses } from '../../../src/live/scan.js';
import { rankProcesses, scanSortKey } from '../../../src/model/queries.js';
import type { ProcessStats, ScanSnapshot } from '../../../src/model/scan.js';
import { escapeLabel, formatValue, PromWriter, scanProm } from '../../../src/report/scan/prom.js';

const ROOT = fileURLToPath(new URL('../../../fixtures/scan/basic/proc', import.meta.url));

interface Sample { name: string; labels: Record<string, string>; value: number }
interface Family { name: string; help: string; type: string; samples: Sample[] }

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const FLOAT = /^(?:[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?Inf|NaN)$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

/**
 * A strict reader of the text exposition format 0.0.4, stricter than Prometheus where fdleak
 * promises more: every family has HELP then TYPE before its first sample, once; a family's
 * samples are contiguous; no duplicate series; no blank lines; the text ends with "\n".
 */
function parseExposition(text: string): Family[] {
  if (!text.endsWith('\n')) throw new Error('does not end with a newline');
  const families: Family[] = [];
  const done = new Set<string>();
  const series = new Set<string>();
  let current: Family | undefined;
  const lines = text.slice(0, -1).split('\n');
  lines.forEach((line, i) => {
    const at = `line ${i + 1}: ${JSON.stringify(line)}`;
    if (line === '') throw new Error(`${at}: blank line`);
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
      if (m === null) throw new Error(`${at}: comment that is neither HELP nor TYPE`);
      const [, kind, name, rest] = m as unknown as [string, 'HELP' | 'TYPE', string, string];
      if (!NAME.test(name)) throw new Error(`${at}: bad metric name`);
      if (kind === 'HELP') {
        if (done.has(name) || current?.name === name) throw new Error(`${at}: second HELP for ${name}`);
        if (current !== undefined) done.add(current.name);
        if (/\\[^\\n]/.test(rest.replace(/\\\\/g, ''))) throw new Error(`${at}: bad escape in HELP`);
        current = { name, help: rest.replace(/\\n/g, '\n').replace(/\\\\/g, '\\'), type: '', samples: [] };
        families.push(current);
      } else {
        if (current?.name !== name || current.type !== '') throw new Error(`${at}: TYPE not right after its HELP`);
        if (!TYPES.has(rest)) throw new Error(`${at}: unknown type ${rest}`);
        current.type = rest;
      }
      return;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)( -?\d+)?$/.exec(line);
    if (m === null) throw new Error(`${at}: not "name{labels} value"`);
    const [, name, labelText, valueText] = m as unknown as [string, string, string | undefined, string];
    if (current === undefined || current.name !== name || current.type === '') throw new Error(`${at}: sample of ${name} outside its family (no HELP/TYPE before it, or not contiguous)`);
    if (!FLOAT.test(valueText)) throw new Error(`${at}: bad value ${valueText}`);
    const labels = parseLabels(labelText ?? '', at);
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (series.has(key)) throw new Error(`${at}: duplicate series`);
    series.add(key);
    current.samples.push({ name, labels, value: valueText === '+Inf' || valueText === 'Inf' ? Infinity : valueText === '-Inf' ? -Infinity : Number(valueText) });
  });
  for (const f of families) if (f.type === '') throw new Error(`${f.name}: HELP without TYPE`);
  return families;
}

/** `{a="x",b="y\"z"}` -> { a: 'x', b: 'y"z' }; only \\, \" and \n escapes. */
function parseLabels(text: string, at: string): Record<string, string> {
  const labels: Record<string, string> = {};
  if (text === '') return labels;
  let i = 1;
  const end = text.length - 1; // the closing brace
  while (i < end) {
    const eq = text.indexOf('=', i);
    if (eq < 0) throw new Error(`${at}: label without "="`);
    const name = text.slice(i, eq);
    if (!LABEL_NAME.test(name) || name.startsWith('__')) throw new Error(`${at}: bad label name ${name}`);
    if (name in labels) throw new Error(`${at}: label ${name} twice`);
    if (text[eq + 1] !== '"') throw new Error(`${at}: label value not quoted`);
    let value = '';
    let j = eq + 2;
    for (;;) {
      const c = text[j];
      if (c === undefined) throw new Error(`${at}: unterminated label value`);
      if (c === '"') break;
      if (c === '\n') throw new Error(`${at}: raw newline in label value`);
      if (c === '\\') {
        const n = text[j + 1];
        if (n === '\\') value += '\\';
        else if (n === '"') value += '"';
        else if (n === 'n') value += '\n';
        else throw new Error(`${at}: bad escape \\${n ?? ''}`);
        j += 2;
        continue;
      }
      value += c;
      j++;
    }
    labels[name] = value;
    i = j + 1;
    if (i < end) {
      if (text[i] !== ',') throw new Error(`${at}: expected "," between labels`);
      i++;
    }
  }
  return labels;
}

async function fixtureScan(): Promise<ScanSnapshot> {
  return (await scanProcesses({ procRoot: ROOT, now: () => new Date('2026-11-22T03:00:00.000Z') })).snapshot;
}
/** The duration metric is fed from the scan's timings, which stay out of the snapshot. */
const DURATION_MS = 12.3;

const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' }).status === 0;

describe('scan --prometheus', () => {
  it('parses back: fdleak_* families, HELP/TYPE once, pid and command labels, the fixture\'s numbers', async () => {
    const result = await fixtureScan();
    const text = scanProm(result, rankProcesses(result.processes, scanSortKey('fds'), (p) => p.fds), DURATION_MS);
    const families = parseExposition(text);
    expect(families.every((f) => f.name.startsWith('fdleak_') && f.type === 'gauge')).toBe(true);
    const byName = new Map(families.map((f) => [f.name, f]));
    const value = (name: string, pid: number): number | undefined =>
      byName.get(name)?.samples.find((s) => s.labels.pid === String(pid))?.value;
    expect([19448, 19455].map((pid) => ['fdleak_process_open_fds', 'fdleak_process_sockets', 'fdleak_process_orphan_sockets', 'fdleak_process_fd_limit'].map((n) => value(n, pid)))).toEqual([
      [43, 36, 30, 20000],
      [9, 5, 2, 20000],
    ]);
    expect(byName.get('fdleak_process_open_fds')!.samples[0]!.labels).toEqual({ pid: '19448', command: 'leaky-app', location_kind: 'none', location: '' });
    expect(byName.get('fdleak_scan_skipped_processes')!.samples.map((s) => [s.labels.reason, s.value])).toEqual([['permission', 0], ['vanished', 0]]);
    expect(byName.get('fdleak_host_tcp_sockets')!.samples.find((s) => s.labels.state === 'TIME_WAIT')?.value).toBe(20);
    expect(byName.get('fdleak_scan_duration_seconds')!.samples[0]!.value).toBe(0.012);
    await expect(text).toMatchFileSnapshot('../../../fixtures/scan/basic/expected.prom');
  });

  it('escapes awkward commands, writes +Inf for an unlimited limit, leaves unknowns out', async () => {
    const result = await fixtureScan();
    const [a, b, c] = result.processes as [ProcessStats, ProcessStats, ProcessStats];
    a.command = 'back\\slash "quoted"\nnewline\u001b]0;title\u0007\u202e';
    b.fdLimit = { soft: 'unlimited', hard: 'unlimited' };
    b.limitUsed = null;
    Object.assign(c, { sockets: null, orphanSockets: null, unseen: 'permission' });
    const text = scanProm(result, result.processes, DURATION_MS);
    // eslint-disable-next-line no-control-regex
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e]/); // no raw control byte at all
    const families = parseExposition(text);
    const fds = families.find((f) => f.name === 'fdleak_process_open_fds')!;
    // What Prometheus reads back is the name shown safely (safe-text.ts), as in the table: \n, \x1b, \u202e visible.
    expect(fds.samples[0]!.labels.command).toBe('back\\slash "quoted"\\nnewline\\x1b]0;title\\x07\\u202e');
    expect(families.find((f) => f.name === 'fdleak_process_fd_limit')!.samples.find((s) => s.labels.pid === String(b.pid))!.value).toBe(Infinity);
    expect(families.find((f) => f.name === 'fdleak_process_fd_limit_used_ratio')!.samples.some((s) => s.labels.pid === String(b.pid))).toBe(false);
    expect(families.find((f) => f.name === 'fdleak_process_sockets')!.samples.some((s) => s.labels.pid === String(c.pid))).toBe(false);
  });

  it('passes promtool check metrics', async (ctx) => {
    if (!promtool) ctx.skip('promtool is not on PATH (Debian: the prometheus package ships it)');
    const result = await fixtureScan();
    result.processes[0]!.command = 'back\\slash "quoted"\nnewline';
    const run = spawnSync('promtool', ['check', 'metrics'], { input: scanProm(result, result.processes, DURATION_MS), encoding: 'utf8' });
    expect({ status: run.status, out: `${run.stdout}${run.stderr}` }).toEqual({ status: 0, out: '' });
  });
});

describe('the strict parser itself', () => {
  it.each([
    ['no trailing newline', '# HELP a x\n# TYPE a gauge\na 1'],
    ['sample before TYPE', '# HELP a x\na 1\n# TYPE a gauge\n'],
    ['TYPE twice', '# HELP a x\n# TYPE a gauge\n# TYPE a gauge\na 1\n'],
    ['family split in two', '# HELP a x\n# TYPE a gauge\na 1\n# HELP b x\n# TYPE b gauge\nb 1\na{x="1"} 2\n'],
    ['bad escape', '# HELP a x\n# TYPE a gauge\na{x="\\t"} 1\n'],
    ['unquoted label', '# HELP a x\n# TYPE a gauge\na{x=1} 1\n'],
    ['bad value', '# HELP a x\n# TYPE a gauge\na 1,5\n'],
    ['bad name', '# HELP 1a x\n# TYPE 1a gauge\n1a 1\n'],
    ['duplicate series', '# HELP a x\n# TYPE a gauge\na{x="1"} 1\na{x="1"} 2\n'],
  ])('rejects %s', (_why, text) => {
    expect(() => parseExposition(text)).toThrow();
  });
  it('accepts the escapes it should', () => {
    expect(parseExposition('# HELP a x\n# TYPE a gauge\na{x="\\\\\\"\\n"} +Inf\n')[0]!.samples[0]).toEqual({ name: 'a', labels: { x: '\\"\n' }, value: Infinity });
  });
});

describe('PromWriter', () => {
  it('refuses a family written twice and bad names', () => {
    const w = new PromWriter().family('fdleak_a', 'x');
    expect(() => w.family('fdleak_a', 'x')).toThrow('written twice');
    expect(() => w.family('fdleak-b', 'x')).toThrow('invalid metric name');
  });
  it('formats values and escapes labels', () => {
    expect([1, 0.5, Infinity, -Infinity, NaN].map(formatValue)).toEqual(['1', '0.5', '+Inf', '-Inf', 'NaN']);
    expect(escapeLabel('a\\b"c')).toBe('a\\\\b\\"c');
    // A newline is others' text first (safeText: the two characters \n), then the backslash is escaped.
    expect(escapeLabel('a\nd\u001b')).toBe('a\\\\nd\\\\x1b');
  });
});
