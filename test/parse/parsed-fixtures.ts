/**
 * What the parser tests of test/parse share: parsing a captured fixture cleanly (no line
 * skipped, every record valid against the model) and showing sockets as one line of plain text.
 */
import { expect } from 'vitest';
import type { Socket } from '../../src/model/socket.js';
import { LineSink } from '../../src/util/skips.js';
import type { Parsed } from './fuzz.js';
import { expectValidRecords, fixture } from './fuzz.js';

/** A sink that counts bad lines instead of throwing: what captured text gets. */
export const lenient = (): LineSink => new LineSink(false);

/** fixtures/<path> through `parse`, which must skip no line and give only valid records. */
export function parseClean<T extends Parsed>(path: string, parse: (text: string, source: string, sink: LineSink) => T): T {
  const sink = lenient();
  const text = fixture(path);
  const out = parse(text, path, sink);
  expect(sink.skipped).toEqual([]);
  expectValidRecords(out, text.split('\n').length);
  return out;
}

/** How many times each string occurs, keys sorted: a stable thing to compare. */
export function countBy(list: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of [...list].sort()) out[k] = (out[k] ?? 0) + 1;
  return out;
}

/** "127.0.0.1:80", "*" or "-". */
export const ep = (e: Socket['local']): string => (e === null ? '-' : e.port === null ? e.address : `${e.address}:${e.port}`);

/**
 * A socket in one line of plain text: proto state local remote queues inode owners; with the
 * backlog after the queues (ss knows it) and without owners' fds (netstat does not give them).
 */
export function showWith({ backlog = false, fd = true }: { backlog?: boolean; fd?: boolean }): (s: Socket) => string {
  return (s) => `${s.proto} ${s.state ?? s.detail} ${ep(s.local)} ${ep(s.remote)} q=${s.rxQueue}/${s.txQueue}${backlog ? `/${s.backlog}` : ''} ino=${s.inode} `
    + s.owners.map((o) => `${o.command}:${o.pid}${fd ? `:${o.fd}` : ''}`).join(',');
}

export const show = showWith({});
