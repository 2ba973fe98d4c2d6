import { describe, expect, it } from 'vitest';
import { frameText, traceTable } from '../../../src/report/trace/table.js';
import { traceJson } from '../../../src/report/trace/json.js';
import type { TraceResult } from '../../../src/trace/result.js';

const EVIL = '/tmp/\x1b]0;x\x07evil\u202e';

describe('trace reporters escape others\' text', () => {
  const result: TraceResult = {
    schema: 'fdleak/trace@1',
    window: { mode: 'launch', pid: 1, command: [EVIL], startedAt: 'a', endedAt: 'b', durationMs: 1000, endedBy: 'exit' },
    processes: [{ pid: 1, parent: null, command: EVIL, exited: true }],
    totals: { opened: 1, closed: 0, open: 0, heldToExit: 1, stacks: 1, events: 2, limitErrors: 0 },
    leaks: [{
      stackId: 1, count: 1, open: 0, heldToExit: 1, summary: `1 file ${EVIL}`,
      frames: [{ object: EVIL, symbol: 'f\x1b[2J', address: '0x1', function: null, file: EVIL, line: 3 }], ownFrame: 0, runtime: null,
      processes: [{ pid: 1, open: 0, heldToExit: 1 }], targets: [{ kind: 'file', label: 'file', target: EVIL, count: 1, states: {}, orphans: 0 }],
      churn: { opened: 1, closed: 0 },
    }],
    churn: [], runtimes: [], warnings: [EVIL],
  };
  it('table: no control or bidi character of theirs reaches the terminal', () => {
    const text = traceTable(result, { color: false, version: '0', generatedAt: 'b' });
    expect(text).not.toMatch(/[\x1b\x07\u202e]/);
    expect(text).toContain('\\x1b]0;x\\x07evil\\u202e');
    expect(frameText(result.leaks[0]!.frames[0]!)).toBe('f\\x1b[2J (/tmp/\\x1b]0;x\\x07evil\\u202e:3)  in \\x1b]0;x\\x07evil\\u202e');
  });
  it('json: the same value, with bidi controls written as escapes', () => {
    const text = traceJson(result);
    expect(text).not.toMatch(/[\x1b\x07\u202e]/);
    expect((JSON.parse(text) as TraceResult).leaks[0]!.summary).toBe(`1 file ${EVIL}`);
  });
});
