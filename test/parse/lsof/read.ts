/** A whole lsof capture read through LsofReader, the reader `fdleak analyze` streams captures into, with every fd kept. */
import type { Fd } from '../../../src/model/fd.js';
import type { Process } from '../../../src/model/process.js';
import type { Socket } from '../../../src/model/socket.js';
import { LsofReader } from '../../../src/parse/lsof/reader.js';
import type { LineSink } from '../../../src/util/skips.js';

export interface LsofRecords {
  processes: Process[];
  fds: Fd[];
  sockets: Socket[];
}

function readWhole(format: 'lsof' | 'lsof-F', text: string, source: string, sink?: LineSink, lastFd?: Map<string, number>): LsofRecords {
  const reader = new LsofReader(format, { source, keepAll: true, ...(sink === undefined ? {} : { sink }), ...(lastFd === undefined ? {} : { lastFd }) });
  const { fds, sockets } = reader.read(text);
  return { processes: reader.end(), fds, sockets };
}

/** The column listing, whole; `lastFd` carries "*NNN" fd numbers from an earlier capture. */
export const readColumns = (text: string, source: string, sink?: LineSink, lastFd?: Map<string, number>): LsofRecords =>
  readWhole('lsof', text, source, sink, lastFd);

/** lsof -F output, whole. */
export const readFields = (text: string, source: string, sink?: LineSink): LsofRecords => readWhole('lsof-F', text, source, sink);
