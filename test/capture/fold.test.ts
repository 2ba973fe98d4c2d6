/**
 * A large lsof capture folds its socket rows as they stream (capture/fold.ts): the report must be
 * the one the records give. Each capture is analyzed twice, folded from its first socket and never
 * folded (and folded from a few sockets on, so that rows read as records are taken over), and the
 * JSON and terminal reports compared: on every lsof fixture, and on a live capture of a process mix
 * (listener, ESTABLISHED pairs, CLOSE_WAIT on both sides with unread data, FIN_WAIT2 with its
 * CLOSE_WAIT peer, never-bound sockets, unix pairs, dup()ed fds, a forked child sharing every
 * socket), whose counts are also checked against /proc/net/tcp of that moment.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { analyzeCapture } from '../../src/capture/capture.js';
import { openLines } from '../../src/capture/text-input.js';
import { foldOf } from '../../src/model/folded.js';
import { judgedScope } from '../../src/report/analyze/judged.js';
import { analyzeJson } from '../../src/report/analyze/json.js';
import { analyzeTable } from '../../src/report/analyze/table.js';
import { runRules } from '../../src/rules/engine.js';
import { ROOT } from '../helpers/cli.js';
import { hasLsof, lsofOfSocketMix, stopAll } from '../helpers/netns.js';
import { socketFds, tcpRows } from '../helpers/proc.js';

const TAKEN_AT = '2026-12-03T00:00:00.000Z';

/** Both reports of `text` read with `foldAfter`, or the error's text; whether it folded. */
async function report(text: string, foldAfter: number): Promise<{ json: string; table: string; folded: boolean } | { error: string }> {
  // reads of 2 KiB: a chunk each, so that folding starts between chunks
  const bytes = Buffer.from(text, 'latin1');
  const reads = Array.from({ length: Math.ceil(bytes.length / 2048) }, (_, i) => bytes.subarray(i * 2048, (i + 1) * 2048));
  let stream: Awaited<ReturnType<typeof openLines>> | undefined;
  try {
    stream = await openLines('-', Readable.from(reads));
    const capture = await analyzeCapture([stream], undefined, TAKEN_AT, {}, { foldAfter });
    const { findings, skipped, ran } = runRules(capture.snapshot);
    const judged = judgedScope(capture.snapshot, ran, skipped);
    return {
      json: analyzeJson(capture, findings, skipped, judged),
      table: analyzeTable(capture, findings, skipped, judged, { color: false, version: '0', generatedAt: TAKEN_AT }),
      folded: foldOf(capture.snapshot) !== undefined,
    };
  } catch (error) {
    return { error: String(error) };
  } finally {
    stream?.close();
  }
}

/** The reports folded (from 0 and from `mid` sockets on) equal the reports never folded. */
async function expectSameFolded(text: string, name: string, mid = 3): Promise<{ json: string }> {
  const records = await report(text, Number.POSITIVE_INFINITY);
  for (const after of [0, mid]) {
    const folded = await report(text, after);
    if ('error' in records) {
      expect(folded, `${name}, folded after ${after}`).toEqual(records);
      continue;
    }
    expect('error' in folded ? folded.error : '', name).toBe('');
    if ('error' in folded) continue;
    expect(folded.json, `${name}, folded after ${after}`).toBe(records.json);
    expect(folded.table, `${name}, folded after ${after}`).toBe(records.table);
    const doc = JSON.parse(records.json) as { input: { format: string }; processes: Array<{ sockets: number }> };
    const sockets = doc.processes.reduce((n, p) => n + p.sockets, 0);
    if (/^lsof(-F)?$/.test(doc.input.format) && sockets > after + 10) expect(folded.folded, `${name} folds past ${after} sockets`).toBe(true);
  }
  expect(records).not.toHaveProperty('folded', true);
  return records as { json: string };
}

describe('a folded capture reports what its records report', () => {
  const dirs = ['fixtures/lsof', 'fixtures/lsof-F', 'fixtures/lsof-sock', 'fixtures/pasted'];
  const files = dirs.flatMap((d) => readdirSync(join(ROOT, d)).filter((f) => f.endsWith('.txt')).map((f) => join(d, f)));
  for (const file of files) {
    it(file, async () => {
      const text = spawnSync('cat', [join(ROOT, file)], { encoding: 'latin1' }).stdout;
      await expectSameFolded(text, file);
    });
  }
});

describe('sock rows read in place, whatever their inode text', () => {
  it('an inode led by 0, one of 10 digits, one a TCP row has, a plain one: the reports the records give', async () => {
    // lsof's own capture of everything (fixtures/lsof/README.md), its sock rows' NODE rewritten in
    // turn. The fold keys a plain inode by its number, any other by its text: "0" and a TCP row's
    // inode is no inode the tables have (an orphan, as the records have it), though its number is.
    const text = spawnSync('cat', [join(ROOT, 'fixtures/lsof/list-everything.txt')], { encoding: 'latin1' }).stdout;
    const tcp = [...text.matchAll(/ IPv4\s+(\d+)\s+\S+\s+TCP \S+->\S+ \((?:ESTABLISHED|CLOSE_WAIT)\)/g)].map((m) => m[1]!);
    let k = 0;
    const edited = text.replace(/^(\S+\s+\d+\s+\S+\s+\S+\s+sock\s+\S+\s+\S+\s+)(\d+)/gm, (_, head: string, inode: string) => {
      const other = tcp[k]!;
      const shape = k++ % 4;
      return head + [`0${other}`, `${other}0000`, other, inode][shape];
    });
    expect(k).toBeGreaterThan(4);
    await expectSameFolded(edited, 'list-everything, sock inodes rewritten');
  });
});

describe('a live capture of the socket mix, folded', () => {
  afterAll(stopAll);

  it('lsof -nP -p PID,CHILD: the same reports, and the CLOSE_WAIT counts /proc/net/tcp holds', async (ctx) => {
    if (!hasLsof()) return ctx.skip('lsof is not installed');
    const { mix, child, text } = await lsofOfSocketMix();
    const rows = tcpRows(mix.pid);
    const { json } = await expectSameFolded(text, 'socket-mix', 50);
    const doc = JSON.parse(json) as { findings: Array<{ rule: string; pid: number | null; count: number }> };
    // the CLOSE_WAIT sockets each process holds (the child: the parent's, forked, and its own)
    const held = (pid: number): number => {
      const inodes = socketFds(pid);
      return rows.filter((r) => r.state === 'CLOSE_WAIT' && inodes.has(r.inode)).length;
    };
    const counts = new Map(doc.findings.filter((f) => f.rule === 'close-wait').map((f) => [f.pid, f.count]));
    expect(held(mix.pid)).toBeGreaterThan(50);
    expect(counts.get(mix.pid)).toBe(held(mix.pid));
    expect(counts.get(child)).toBe(held(child));
    expect(held(child)).toBe(held(mix.pid) + 1);
  }, 30_000);
});

describe('a capture past what fits in bounded memory is an input error, never an abort', () => {
  /** `n` socket rows of one process each, every pid and inode distinct. */
  function manyProcesses(n: number): Buffer[] {
    const rows = ['COMMAND   PID USER   FD   TYPE  DEVICE SIZE/OFF NODE NAME'];
    for (let i = 0; i < n; i++) rows.push(`python3 ${1000 + i} root    3u  IPv4 ${100000 + i}      0t0  TCP 127.0.0.1:${1024 + (i % 60000)}->127.0.0.1:80 (ESTABLISHED)`);
    const text = Buffer.from(`${rows.join('\n')}\n`, 'latin1');
    return Array.from({ length: Math.ceil(text.length / 65536) }, (_, i) => text.subarray(i * 65536, (i + 1) * 65536));
  }

  it('more than 100,000 processes: one line naming the cap and how to capture less', async () => {
    const stream = await openLines('-', Readable.from(manyProcesses(100_001)));
    await expect(analyzeCapture([stream], undefined, TAKEN_AT)).rejects.toThrow(/^stdin: more than 100,000 processes: .*lsof -nP -p PID/);
    stream.close();
  });

  it('another capture after a folded lsof capture in one stream: one line saying to give each its own file', async () => {
    const lsof = Buffer.concat(manyProcesses(50));
    const ss = Buffer.from('State  Recv-Q Send-Q Local Address:Port Peer Address:Port\nESTAB  0      0      127.0.0.1:80      127.0.0.1:1024\n', 'latin1');
    const stream = await openLines('-', Readable.from([lsof, ss]));
    await expect(analyzeCapture([stream], undefined, TAKEN_AT, {}, { foldAfter: 0 })).rejects.toThrow(/another capture \(ss\) follows an lsof capture .* give each capture as a file of its own/);
    stream.close();
  });
});
