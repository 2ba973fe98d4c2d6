/**
 * The worker that reads /proc/<pid>/fd and /proc/<pid>/net beside the main thread must change
 * nothing but the time: every snapshot collected with it equals the one collected without it, on a
 * captured /proc tree given as a relative path (the main thread chdirs while the worker reads), on
 * a live process whose fd table spans many chunks, and where the directory cannot be listed. Since
 * the main thread falls back to reading everything itself, equal answers alone prove nothing: each
 * test also checks what the worker delivered (fd chunks, socket tables) and that those are the
 * numbers the main thread did not read. The worker is the built dist/cli/proc-pid-reader.cjs (the
 * test run builds first when src is newer: test/helpers/fresh-build.ts).
 */
import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { collectLiveProcess } from '../../../src/live/diagnose.js';
import { readProcPidFd, readProcPidFdShared } from '../../../src/live/proc-pid.js';
import { ownRows } from '../../../src/live/own-rows.js';
import {
  FD_CHUNK, NET_TABLE_FILES, namesMessage, namesOf, prefetchProcPid, SELECTION_DONE, SELECTION_MAIN,
} from '../../../src/live/threads/proc-pid-worker.js';
import { selectInetRows } from '../../../src/parse/proc-net-inet.js';
import type { Snapshot } from '../../../src/model/snapshot.js';
import { socketFds, tcpRows } from '../../helpers/proc.js';

const now = (): Date => new Date('2026-11-22T00:00:00.000Z');
const READER = new URL('../../../dist/cli/proc-pid-reader.cjs', import.meta.url);
const prefetch = (procRoot: string, pid: number) => prefetchProcPid(procRoot, pid, READER);

/**
 * Waits until the worker has claimed its first chunk of `names` (it is up and reading). The bound is
 * generous: with 5 s, a loaded test run once saw `delivered.tables` of 0, which is what happens when
 * the wait gives up before the worker is up and the main thread reads every table itself.
 */
async function workerStarted(claims: Int32Array): Promise<void> {
  for (let waited = 0; Atomics.load(claims, 0) === 0 && waited < 25_000; waited += 5) await new Promise((r) => setTimeout(r, 5));
}
const children: Array<{ kill(): boolean }> = [];
afterAll(() => {
  for (const child of children) child.kill();
});

/** A node process holding `files` fds on /dev/null plus a few pipes and sockets; resolves to its pid. */
async function holder(files: number): Promise<number> {
  const script = `
    const fs = require('node:fs'), net = require('node:net');
    for (let i = 0; i < ${files}; i++) fs.openSync('/dev/null', 'r');
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      net.connect(server.address().port, '127.0.0.1', () => console.log('ready'));
    });
    setTimeout(() => process.exit(0), 60000);`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  return child.pid!;
}

/**
 * A node process holding `connections` loopback connections (both ends: two sockets each) and
 * `files` fds on /dev/null, in the host namespace (whose tables hold other processes' rows too).
 */
async function socketHolder(connections: number, files: number): Promise<number> {
  const script = `
    const fs = require('node:fs'), net = require('node:net');
    const held = [];
    const server = net.createServer((s) => held.push(s)).listen(0, '127.0.0.1', () => {
      let up = 0;
      for (let i = 0; i < ${connections}; i++) {
        held.push(net.connect(server.address().port, '127.0.0.1', () => {
          if (++up === ${connections}) {
            for (let j = 0; j < ${files}; j++) fs.openSync('/dev/null', 'r');
            setTimeout(() => console.log('ready'), 200); // the last accepts
          }
        }));
      }
    });
    setTimeout(() => process.exit(0), 60000);`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  return child.pid!;
}

describe('the names the worker is sent', () => {
  it('come back as they were listed, none included', () => {
    for (const names of [[], ['0'], ['0', '1', '10', '2', '1999']]) expect(namesOf(namesMessage(names))).toEqual(names);
    expect(typeof namesMessage(['3', '4'])).toBe('string'); // one string to clone, not one per name
  });
});

describe('prefetchProcPid', () => {
  it('gives the same snapshot as the main thread alone on a captured /proc tree (relative path)', async () => {
    const procRoot = 'fixtures/rules/close-wait/fires-server-never-closes';
    const p = prefetch(procRoot, 11400)!;
    await p.names();
    await workerStarted(p.claims);
    const shared = await collectLiveProcess(11400, { procRoot, prefetch: p, now });
    expect(shared).toEqual(await collectLiveProcess(11400, { procRoot, now }));
    expect(shared.fds).toHaveLength(39);
    // 39 fds are one chunk, and the worker claimed it: every link came from the worker.
    expect(p.delivered.chunks).toBe(1);
    // It read the socket tables before its first chunk of links, while the main thread was not yet
    // collecting: every one of them (the main thread read none).
    expect(p.delivered.tables).toBe(NET_TABLE_FILES.length);
    expect(Atomics.load(p.claims, 1)).toBeGreaterThanOrEqual(NET_TABLE_FILES.length);
    // --debug's timeline: the worker's steps in the order it took them, with the main thread's part
    // of the links (it read none: its chunk was the worker's) between.
    const worker = p.marks.filter(([step]) => !step.startsWith('main: '));
    // Then, handed the main thread's links (none: it read no link), it selected the rows
    // unless the main thread claimed that first.
    const selected = Atomics.load(p.claims, 2) === SELECTION_DONE ? ['links in', 'selected'] : [];
    expect(worker.map(([step]) => step)).toEqual(['up', ...NET_TABLE_FILES, 'names', 'links', ...selected]);
    expect(worker.map(([, at]) => at)).toEqual(worker.map(([, at]) => at).sort((a, b) => a - b));
    expect(p.marks.filter(([step]) => step.startsWith('main: ')).map(([step]) => step)).toEqual(['main: own links', 'main: their links in']);
  });

  it('gives the same fd table on a live process spanning many chunks', async () => {
    const pid = await holder(FD_CHUNK * 20 + 7);
    const p = prefetch('/proc', pid)!;
    const names = (await p.names())!;
    // Let the worker start on its share first, so both threads surely read links here.
    await workerStarted(p.claims);
    const shared = await readProcPidFdShared(p);
    const theirs = (await p.links())!;
    expect(p.delivered.chunks).toBe(theirs.starts.length);
    expect(theirs.starts.length).toBeGreaterThan(0);
    // The worker's links are real targets of those fds (not blanks the main thread refilled).
    const byFd = new Map(shared.fds.map((f) => [f.fd, f.target]));
    const sample = theirs.links.split('\0').slice(0, FD_CHUNK);
    expect(sample.map((t, i) => [names[theirs.starts[0]! + i], t]).filter(([, t]) => t !== '').length).toBe(sample.length);
    expect(sample.every((t, i) => byFd.get(Number(names[theirs.starts[0]! + i])) === t)).toBe(true);
    const alone = readProcPidFd('/proc', pid);
    expect(shared.fds.length).toBeGreaterThan(FD_CHUNK * 20 + 7);
    expect(shared).toEqual(alone);
    // The socket tables the worker read are the ones the main thread would read. The process shares
    // the host's namespace: ownerless rows (TIME_WAIT) and file-nr come and go, and with other
    // processes' rows the line numbers of its own; its own rows stay.
    const own = (snapshot: Snapshot): unknown => ({
      ...snapshot,
      sockets: snapshot.sockets.filter((s) => s.owners.length > 0).map((s) => ({ ...s, origin: s.origin.source })),
      host: null,
    });
    const second = prefetch('/proc', pid)!;
    await second.names();
    await workerStarted(second.claims);
    const snapshot = await collectLiveProcess(pid, { prefetch: second, now, backlog: false });
    expect(second.delivered.chunks).toBeGreaterThan(0);
    expect(second.delivered.tables).toBeGreaterThan(0);
    expect(own(snapshot)).toEqual(own(await collectLiveProcess(pid, { now, backlog: false })));
    expect(snapshot.sockets.filter((s) => s.state === 'ESTABLISHED' && s.owners.length > 0)).toHaveLength(2);
  });

  it('selects the rows diagnose keeps of the tables it read, for every link (both threads\'), as the main thread would', async () => {
    const pid = await socketHolder(300, 5000); // 600 sockets among ~5,600 fds: ~88 chunks
    const p = prefetch('/proc', pid)!;
    await p.names();
    await workerStarted(p.claims);
    // Whoever claims the selection first makes it, and the main thread takes it over from a worker
    // not half done. On a 15,000-fd process the main thread builds its fd records meanwhile, here
    // ~5,600 of them: it asks once the worker is done, as it would there on an idle machine.
    const asked = p.selections.bind(p);
    p.selections = async () => {
      for (let waited = 0; Atomics.load(p.claims, 2) !== SELECTION_DONE && waited < 25_000; waited += 5) await new Promise((r) => setTimeout(r, 5));
      return asked();
    };
    const snapshot = await collectLiveProcess(pid, { prefetch: p, now, backlog: false });
    // Both threads read links (the worker had to be handed the main thread's) and the
    // tcp table, and the worker did the selection: the main thread found it claimed.
    expect(p.delivered.chunks).toBeGreaterThan(0);
    expect(p.delivered.chunks).toBeLessThan(Math.ceil(snapshot.fds.length / FD_CHUNK));
    expect(Atomics.load(p.claims, 2)).toBe(SELECTION_DONE);
    const { tables: selections, unmatched } = (await p.selections())!;
    // It said how far it was (every 1,024 lines: only if its tables have that many).
    if ([...selections.values()].some((s) => s.total >= 1024)) expect(Atomics.load(p.claims, 3)).toBeGreaterThan(0);
    expect(p.delivered.selections).toBe(selections.size);
    expect(selections.has('tcp')).toBe(true);
    expect(p.marks.map(([step]) => step)).toEqual(expect.arrayContaining(['links in', 'selected']));
    // Each is what the main thread's selectInetRows gives on the same text, with diagnose's keep
    // for the socket fds of the snapshot, which are those /proc shows.
    const texts = (await p.netTexts())!;
    const sockets = new Set(snapshot.fds.filter((f) => f.kind === 'socket').map((f) => f.inode!));
    expect(sockets).toEqual(new Set(socketFds(pid).keys()));
    // Its kept inodes are not sent: instead, the process's socket inodes in none of its tables' rows.
    const kept = new Set<string>();
    for (const [name, selection] of selections) {
      const here = selectInetRows(texts.get(name)!, ownRows((inode) => sockets.has(inode)));
      expect({ ...selection, starts: Array.from(selection.starts), lines: Array.from(selection.lines) }).toEqual({ ...here, kept: [] });
      for (const inode of here.kept) kept.add(inode);
    }
    expect(unmatched).toEqual(new Set([...sockets].filter((inode) => !kept.has(inode))));
    // In its tables: the 600 connections' ends and the listener, whichever thread read their links.
    const tcp = new Set(tcpRows(pid).map((r) => r.inode).filter((inode) => sockets.has(inode)));
    expect(tcp.size).toBe(601);
    expect([...tcp].some((inode) => unmatched.has(inode))).toBe(false);
    expect(unmatched.size).toBe(sockets.size - 601 - [...sockets].filter((inode) => kept.has(inode) && !tcp.has(inode)).length);
    // And the snapshot is the one of the main thread alone, for the process's own rows.
    // (Its own: in the host namespace, other processes' rows opposite ownerless FIN_WAIT2 rows come and go.)
    const own = (s: Snapshot): unknown => s.sockets.filter((r) => r.owners.some((o) => o.pid === pid)).map((r) => ({ ...r, origin: r.origin.source }));
    expect(own(snapshot)).toEqual(own(await collectLiveProcess(pid, { now, backlog: false })));
    expect(snapshot.sockets.filter((r) => r.proto === 'tcp' && r.owners.some((o) => o.pid === pid))).toHaveLength(601);
  });

  it('leaves the selection to the main thread when it asks before the worker began', async () => {
    const pid = await holder(10);
    const p = prefetch('/proc', pid)!;
    await p.names();
    expect(await p.selections()).toBeNull(); // claimed here: nothing to wait for
    expect(Atomics.load(p.claims, 2)).toBe(SELECTION_MAIN);
    const snapshot = await collectLiveProcess(pid, { prefetch: p, now, backlog: false });
    expect(p.delivered.selections).toBe(0);
    expect(snapshot.sockets.filter((r) => r.owners.length > 0 && r.state === 'ESTABLISHED')).toHaveLength(2);
  });

  it('leaves a process that is not there to the main thread, which reports it as always', async () => {
    const gone = prefetch('/proc', 4_194_303);
    await expect(collectLiveProcess(4_194_303, { prefetch: gone })).rejects.toThrow('pid 4194303: no such process');
    const procRoot = 'fixtures/rules/close-wait/fires-server-never-closes';
    const missing = prefetch(procRoot, 1)!;
    expect(await missing.names()).toBeNull();
  });
});
