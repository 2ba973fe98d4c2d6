import { describe, expect, it } from 'vitest';
import { ProcessTable } from '../../../src/parse/lsof/processes.js';

const TAIL = 'IPv4 123456 0t0 TCP 127.0.0.1:40000->127.0.0.1:8080 (ESTABLISHED)';

describe('ProcessTable.keepTail: socket row texts kept within a budget', () => {
  it('keeps an earlier process\'s tails after the next process starts (a capture repeated whole reads them again)', () => {
    const table = new ProcessTable(new Map(), 0);
    const a = table.create(100, 'a', 0);
    table.list(a, 5, 'socket');
    table.keepTail(a, 5, TAIL);
    const b = table.create(200, 'b', 0);
    table.list(b, 5, 'socket');
    table.keepTail(b, 5, TAIL);
    const row = `x ${TAIL}`;
    expect(table.sameTail(100, 5, row, 2, row.length)).toBe(true);
    expect(table.sameTail(100, 5, row, 3, row.length)).toBe(false); // another text
    expect(table.sameTail(100, 6, row, 2, row.length)).toBe(false); // an fd never listed
  });

  it('past 65,536 tails the processes that kept theirs first drop them, the current one keeps its own', () => {
    const table = new ProcessTable(new Map(), 0);
    const perProcess = 1000;
    const pids = Array.from({ length: 70 }, (_, i) => 1000 + i); // 70,000 tails in all
    for (const pid of pids) {
      const p = table.create(pid, 'p', 0);
      for (let fd = 3; fd < 3 + perProcess; fd++) {
        table.list(p, fd, 'socket');
        table.keepTail(p, fd, TAIL);
      }
    }
    const kept = pids.filter((pid) => table.peek(pid)!.tails !== null);
    // the oldest go first, whole processes at a time, until the rest fit
    expect(kept).toEqual(pids.slice(pids.length - kept.length));
    expect(kept.length * perProcess).toBeLessThanOrEqual(65_536);
    expect((kept.length + 1) * perProcess).toBeGreaterThan(65_536);
    const row = TAIL;
    expect(table.sameTail(pids.at(-1)!, 3, row, 0, row.length)).toBe(true);
    expect(table.sameTail(pids[0]!, 3, row, 0, row.length)).toBe(false);
  });
});
