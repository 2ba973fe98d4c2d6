/**
 * What keeps `fdleak analyze` lean on a big capture (issue 11): the lsof reader keeps no record of
 * a socket fd whose own row holds its inode (the row names the owner), and buildSnapshot checks the
 * records in place. Judged against the reader keeping every fd, on real captures: the fds left are
 * exactly the socket fds no row holds (orphans, rows without an inode), the verdicts are the same.
 */
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { analyzeCapture } from '../../src/capture/capture.js';
import { openLines } from '../../src/capture/text-input.js';
import { InputError } from '../../src/errors.js';
import { buildSnapshot } from '../../src/model/snapshot.js';
import { runRules } from '../../src/rules/engine.js';
import { readColumns, readFields } from '../parse/lsof/read.js';

const TAKEN_AT = '2026-11-22T00:00:00.000Z';

async function capture(path: string) {
  const stream = await openLines(path, Readable.from([]));
  try {
    return await analyzeCapture([stream], undefined, TAKEN_AT);
  } finally {
    stream.close();
  }
}

const CASES = [
  { path: 'fixtures/lsof/sockets-files.txt', read: readColumns },
  { path: 'fixtures/lsof/list-everything.txt', read: readColumns },
  { path: 'fixtures/lsof-F/many-fields.txt', read: readFields },
  { path: 'fixtures/lsof-F/list-everything.txt', read: readFields },
];

describe('a capture keeps records of socket fds without a row only', () => {
  for (const { path, read } of CASES) {
    it(path, async () => {
      const { snapshot } = await capture(path);
      const every = read(readFileSync(path, 'latin1'), path);
      const inRows = new Set(every.sockets.map((s) => s.inode).filter((i) => i !== null));
      const key = (f: { pid: number; fd: number; inode: string | null }): string => `${f.pid}:${f.fd}:${f.inode}`;
      const rowless = every.fds.filter((f) => f.kind === 'socket' && (f.inode === null || !inRows.has(f.inode)));
      expect(every.fds.some((f) => f.kind === 'socket' && f.inode !== null && inRows.has(f.inode))).toBe(true); // records were dropped
      expect(snapshot.fds.map(key).sort()).toEqual(rowless.map(key).sort());
      // every socket row still names its owners' fds: what a merge joins on
      const owners = new Set(snapshot.sockets.flatMap((s) => s.owners.map((o) => `${o.pid}:${o.fd}:${s.inode}`)));
      for (const f of every.fds) if (f.kind === 'socket' && f.inode !== null && inRows.has(f.inode)) expect(owners.has(key(f))).toBe(true);
      // orphan verdicts: the socket fds in no row, counted per process
      const orphans = runRules(snapshot).findings.filter((f) => f.rule === 'orphan-sockets');
      for (const o of orphans) expect(o.count).toBe(rowless.filter((f) => f.pid === o.pid && f.inode !== null).length);
    });
  }
});

describe('buildSnapshot checks records one by one', () => {
  it('returns checked records (in the same arrays with inPlace), and a bad record names its line', async () => {
    const { snapshot } = await capture('fixtures/lsof/sockets-files.txt');
    const sockets = snapshot.sockets.map((s) => ({ ...s, owners: s.owners.map((o) => ({ ...o })) }));
    const copied = buildSnapshot({ ...snapshot, sockets });
    expect(copied.sockets).not.toBe(sockets);
    expect(copied.sockets).toEqual(snapshot.sockets);
    // A record zod would give back unchanged stays as it is (model/as-is.ts); one zod changes (here
    // an unknown key, which it drops) is replaced by zod's checked copy, in its place.
    const first = sockets[0];
    sockets[1] = { ...sockets[1]!, extra: 1 } as (typeof sockets)[number];
    const changed = sockets[1];
    const again = buildSnapshot({ ...snapshot, sockets }, { inPlace: true });
    expect(again.sockets).toBe(sockets);
    expect(sockets[0]).toBe(first);
    expect(sockets[1]).not.toBe(changed); // the checked copy took the original's place
    expect(again.sockets).toEqual(snapshot.sockets);
    const bad = snapshot.sockets.map((s) => ({ ...s }));
    bad[3] = { ...bad[3]!, inode: 'x1' };
    let error: unknown;
    try {
      buildSnapshot({ ...snapshot, sockets: bad });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).what).toMatch(/^invalid inode: /);
    expect((error as InputError).where).toEqual({ source: 'fixtures/lsof/sockets-files.txt', line: snapshot.sockets[3]!.origin.line });
  });
});
