/**
 * lsof text as users capture it, read whole or in pieces through one API: `fdleak analyze` streams a
 * capture chunk by chunk into an LsofReader, a test reads a whole fixture with one read(). Both
 * output forms: the default column listing (columns.ts) and field output, `lsof -F` (fields.ts).
 *
 *   const reader = new LsofReader('lsof', { source, sink });
 *   for (const chunk of chunks) merge(reader.read(chunk.text, chunk.first));
 *   const processes = reader.end();
 */
import type { FdKind } from '../../model/fd.js';
import type { Process } from '../../model/process.js';
import type { LineSink } from '../../util/skips.js';
import { STRICT } from '../../util/skips.js';
import type { LsofPiece, SocketSink } from './builder.js';
import { Builder } from './builder.js';
import { ColumnsReader } from './columns.js';
import { FieldsReader } from './fields.js';
import type { FdTable } from './processes.js';
import type { RepeatedTarget } from './targets.js';

export type { FdTable } from './processes.js';

export interface LsofReaderOptions {
  source: string;
  /** Where bad lines go; the default throws at the first one. */
  sink?: LineSink;
  /** Keep a record of every fd (default: of socket fds only; the others are counted per process and kind). */
  keepAll?: boolean;
  /**
   * Without keepAll, keep records only of socket fds that have no socket row with their inode (lsof
   * "sock" rows: the orphans; rows without an inode): the row of every other one names its owner
   * (pid, fd) and its inode, which is all a merge or a rule asks of such an fd (analyze: bounded memory).
   */
  rowless?: boolean;
  /** fds listed so far by the inputs of one analysis (an fd two captures list counts once, for the first). */
  listed?: Map<number, FdTable>;
  /** This input's number among them. */
  input?: number;
  /** Last fd numbers, shared by captures read in turn, so that "*NNN" fds (fd >= 10000) resolve. */
  lastFd?: Map<string, number>;
}

export class LsofReader {
  private readonly builder: Builder;
  private readonly reader: ColumnsReader | FieldsReader;

  /** `format`: 'lsof' (the column listing) or 'lsof-F' (field output). */
  constructor(format: 'lsof' | 'lsof-F', options: LsofReaderOptions) {
    this.builder = new Builder({
      source: options.source, sink: options.sink ?? STRICT(), keepAll: options.keepAll ?? false, rowless: options.rowless ?? false,
      listed: options.listed ?? new Map(), input: options.input ?? 0, lastFd: options.lastFd ?? new Map(),
    });
    this.reader = format === 'lsof' ? new ColumnsReader(this.builder) : new FieldsReader(this.builder);
  }

  /**
   * Reads whole lines (`firstLine` is the number of the first); lines around the tool's output
   * (blank, "$ lsof -n", "# note") are passed over. lsof -F text must end with a whole file set.
   * Returns what these lines added: new socket fds (every new fd with keepAll), new socket rows,
   * the processes first named in them.
   */
  read(text: string, firstLine = 1, bytes?: Uint8Array): LsofPiece {
    if (this.reader instanceof ColumnsReader) this.reader.read(text, firstLine, null, bytes);
    else this.reader.read(text, firstLine);
    return this.builder.takePiece();
  }

  /**
   * read(), for the column listing, stopping before the first line that is no lsof row and that
   * `stop` accepts (another tool's header: `cat lsof.txt ss.txt`): `stoppedAt` is its offset in text.
   */
  readUntil(text: string, firstLine: number, stop: (line: string) => boolean, bytes?: Uint8Array): LsofPiece & { stoppedAt: number } {
    const at = this.reader instanceof ColumnsReader ? this.reader.read(text, firstLine, stop, bytes) : (this.reader.read(text, firstLine), -1);
    return { ...this.builder.takePiece(), stoppedAt: at };
  }

  /** The column listing's state another thread's reading of the rows that follow must match (ColumnsReader.joins). */
  carried(): ReturnType<ColumnsReader['carried']> | null {
    return this.reader instanceof ColumnsReader ? this.reader.carried() : null;
  }

  /** Whether a reader of the rows that follow, on another thread, read them as this one would (ColumnsReader.joins). */
  joins(next: ReturnType<ColumnsReader['carried']>): boolean {
    return this.reader instanceof ColumnsReader && this.reader.joins(ColumnsReader.carriedAs(next));
  }

  /** The pids of the processes read so far. */
  get pids(): ReadonlyMap<number, unknown> {
    return this.builder.table.procs;
  }

  /** Socket rows go to `sink` from now on, with those read so far (builder.ts SocketSink): a large capture's fold. */
  foldInto(sink: SocketSink): void {
    this.builder.foldInto(sink);
  }

  /**
   * Once every piece was read: the processes, with fd counts and kinds, targets held by several fds
   * (and threads, when the capture lists tasks).
   */
  end(): Array<Process & { fdKinds: Record<FdKind, number>; repeatedTargets: RepeatedTarget[] }> {
    if (this.reader instanceof FieldsReader) this.reader.endProcess(); // the last process set ends with the capture
    return this.builder.table.processes(this.builder.tasksListed);
  }
}
