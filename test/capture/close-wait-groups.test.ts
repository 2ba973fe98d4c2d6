/**
 * FoldedSockets.closeWaitGroups() groups a process's folded CLOSE_WAIT rows by number, without a
 * record a row (close-wait's evidence of a large capture). It must give the groups the records give:
 * each capture below is folded from its first socket, and for each owner the groups are compared
 * with the ones made from closeWaitOf()'s records the way the rule keyed them before (server side
 * by remote address and local port, client side by the remote endpoint), with three ways of telling
 * a server port: none, every port, the capture's own listeners (LISTEN rows and the rows' shape).
 * Captures: every lsof fixture, and captures made by the bench's generator (bench/replicate.mjs).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeCapture } from '../../src/capture/capture.js';
import { openLines } from '../../src/capture/text-input.js';
import { InputError } from '../../src/errors.js';
import { foldOf } from '../../src/model/folded.js';
import type { FoldedSockets } from '../../src/model/folded.js';
import type { Socket } from '../../src/model/socket.js';
import { formatEndpoint } from '../../src/util/format.js';
import { ROOT } from '../helpers/cli.js';

type Totals = { count: number; unread: number; unreadBytes: number };

/** The groups of the records, keyed as close-wait keyed each record. */
function fromRecords(records: readonly Socket[], isServerPort: (port: number) => boolean): Map<string, Totals> {
  const out = new Map<string, Totals>();
  for (const s of records) {
    expect(s.state).toBe('CLOSE_WAIT');
    const key = isServerPort(s.local!.port!) ? `server\t${s.remote!.address}\t${s.local!.port}` : `client\t${formatEndpoint(s.remote)}`;
    const t = out.get(key) ?? { count: 0, unread: 0, unreadBytes: 0 };
    t.count++;
    if ((s.rxQueue ?? 0) > 0) {
      t.unread++;
      t.unreadBytes += s.rxQueue! - 1;
    }
    out.set(key, t);
  }
  return out;
}

function fromFold(fold: FoldedSockets, pid: number, isServerPort: (port: number) => boolean): Map<string, Totals> {
  const out = new Map<string, Totals>();
  for (const g of fold.closeWaitGroups(pid, isServerPort)) {
    const key = g.server ? `server\t${g.remote}\t${g.port}` : `client\t${formatEndpoint({ address: g.remote, port: g.port })}`;
    expect(out.has(key), `${key} is one group`).toBe(false);
    out.set(key, { count: g.count, unread: g.unread, unreadBytes: g.unreadBytes });
  }
  return out;
}

/** Compares both groupings for every owner of `path`; returns the folded CLOSE_WAIT rows seen. */
async function compare(path: string): Promise<number> {
  const stream = await openLines(path, process.stdin);
  let rows = 0;
  try {
    const capture = await analyzeCapture([stream], undefined, '2026-12-03T00:00:00.000Z', {}, { foldAfter: 0 });
    const fold = foldOf(capture.snapshot);
    if (fold === undefined) return 0;
    const listening = new Set(capture.snapshot.sockets.filter((s) => s.state === 'LISTEN').map((s) => s.local?.port));
    const shaped = fold.inferredListenPorts(3, null);
    const predicates: Array<[string, (port: number) => boolean]> = [
      ['no server port', () => false],
      ['every port a server port', () => true],
      ['the capture\'s listeners', (port) => listening.has(port) || shaped.has(port)],
    ];
    for (const pid of fold.closeWaitOwners()) {
      const records = fold.closeWaitOf(pid);
      rows += records.length;
      for (const [name, isServerPort] of predicates) {
        expect(fromFold(fold, pid, isServerPort), `${path}, pid ${pid}, ${name}`).toEqual(fromRecords(records, isServerPort));
      }
    }
    expect(fold.closeWaitGroups(-1, () => false)).toEqual([]);
  } finally {
    stream.close();
  }
  return rows;
}

describe('closeWaitGroups() groups as the records group', () => {
  const dirs = ['fixtures/lsof', 'fixtures/lsof-F', 'fixtures/lsof-sock', 'fixtures/pasted'];
  const files = dirs.flatMap((d) => readdirSync(join(ROOT, d)).filter((f) => f.endsWith('.txt')).map((f) => join(ROOT, d, f)));

  it('on every lsof fixture (but the ones that are input errors)', async () => {
    let rows = 0;
    for (const file of files) {
      rows += await compare(file).catch((error: unknown) => {
        if (error instanceof InputError) return 0; // bad-*.txt, empty.txt: no capture
        throw error;
      });
    }
    expect(rows).toBeGreaterThan(20);
  });

  describe('on captures made by the bench generator', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'fdleak-cwgroups-'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    // each copy as other processes, with sockets of their own (as is, a copy adds no socket)
    for (const base of ['list-everything.txt', 'tcp-udp-queues.txt']) {
      it(`${base} replicated to 50,000 lines`, async () => {
        const out = join(dir, base);
        execFileSync(process.execPath, [join(ROOT, 'bench/replicate.mjs'), join(ROOT, 'fixtures/lsof', base), out, '50000'], { cwd: ROOT });
        expect(await compare(out)).toBeGreaterThan(100);
      });
    }
  });
});
