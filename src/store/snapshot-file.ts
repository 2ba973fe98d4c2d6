/**
 * Snapshot files (`fdleak/snapshot@1`): one JSON document, written by `fdleak snapshot`, read back by
 * `fdleak diff`. The document is the model's Snapshot itself (src/model/snapshot.ts), nothing more:
 * no timings, no host paths of fdleak's own. Written with one record per line (a 15,000-fd
 * snapshot stays readable with grep and diffable with diff), read back through the same schema
 * that validated it when it was built.
 *
 * Reading says plainly what is wrong, in one line naming the file: not JSON (where), truncated,
 * another fdleak document, a newer schema than this fdleak reads, or a record that fails the schema.
 */
import { readFileSync, statSync, writeFileSync, renameSync } from 'node:fs';
import { InputError, errnoOf } from '../errors.js';
import type { Snapshot } from '../model/snapshot.js';
import { SnapshotSchema } from '../model/snapshot.js';
import { z } from '../model/zod.js';
import { safeJson } from '../util/safe-text.js';

const SNAPSHOT_SCHEMA = 'fdleak/snapshot@1';
const VERSION = 1;

/** A file larger than this is not read (JSON.parse needs it whole in memory). */
const MAX_SNAPSHOT_BYTES = 512 * 1024 * 1024;

const RECORD_ARRAYS = new Set(['processes', 'fds', 'sockets', 'namespaces']);

/** The snapshot as the file holds it: top-level keys one per line, each record of the big arrays on its own line. */
export function formatSnapshot(snapshot: Snapshot): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(snapshot)) {
    if (RECORD_ARRAYS.has(key) && Array.isArray(value) && value.length > 0) {
      parts.push(`${JSON.stringify(key)}: [\n${value.map((r) => `  ${safeJson(r)}`).join(',\n')}\n]`);
    } else {
      parts.push(`${JSON.stringify(key)}: ${safeJson(value)}`);
    }
  }
  return `{\n${parts.join(',\n')}\n}\n`;
}

/** Writes `snapshot` to `path` whole or not at all (a temporary file renamed into place). */
export function writeSnapshotFile(path: string, snapshot: Snapshot): void {
  const temp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(temp, formatSnapshot(snapshot));
    renameSync(temp, path);
  } catch (error) {
    throw new InputError(`cannot write the snapshot: ${errnoOf(error) ?? String(error)}`, { source: path });
  }
}

/** Reads and validates a snapshot file; every problem is an InputError naming `path`. */
export function readSnapshotFile(path: string): Snapshot {
  let text: string;
  try {
    const size = statSync(path).size;
    if (size > MAX_SNAPSHOT_BYTES) {
      throw new InputError(`${size} bytes, more than the ${MAX_SNAPSHOT_BYTES / 1024 / 1024} MiB a snapshot file may hold`, { source: path });
    }
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if (error instanceof InputError) throw error;
    const code = errnoOf(error);
    throw new InputError(code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory, not a snapshot file' : `cannot read: ${code ?? String(error)}`, { source: path });
  }
  return parseSnapshotText(text, path);
}

/** Pure half of readSnapshotFile: the text of a snapshot file -> the validated snapshot. */
export function parseSnapshotText(text: string, source: string): Snapshot {
  if (text.trim() === '') throw new InputError('empty file, not a snapshot', { source });
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw jsonError(text, source, error);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new InputError(`not an fdleak snapshot: expected a JSON object, found ${Array.isArray(doc) ? 'an array' : typeof doc}`, { source });
  const schema = (doc as { schema?: unknown }).schema;
  if (typeof schema !== 'string') throw new InputError('not an fdleak snapshot: no "schema" field', { source });
  const m = /^fdleak\/([a-z-]+)@(\d+)$/.exec(schema);
  if (m === null) throw new InputError(`not an fdleak snapshot: schema "${schema}"`, { source });
  if (m[1] !== 'snapshot') throw new InputError(`a ${schema} document, not a snapshot (fdleak snapshot <pid> -o FILE writes one)`, { source });
  if (Number(m[2]) > VERSION) throw new InputError(`schema ${schema} is newer than this fdleak reads (${SNAPSHOT_SCHEMA}): upgrade fdleak`, { source });
  if (Number(m[2]) < VERSION) throw new InputError(`schema ${schema} is older than any this fdleak reads (${SNAPSHOT_SCHEMA})`, { source });
  compiled ??= z.compile(SnapshotSchema);
  const result = compiled.safeParse(doc);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const where = issue.path.length === 0 ? 'the document' : issue.path.map(String).join('.');
  throw new InputError(`invalid snapshot: ${where}: ${issue.message.toLowerCase()}`, { source, ...recordLine(text, issue.path) });
}

let compiled: typeof SnapshotSchema | undefined;

/** The line of a record in a file written by formatSnapshot (one record per line), if it is one. */
function recordLine(text: string, path: ReadonlyArray<PropertyKey>): { line?: number } {
  const [key, index] = path;
  if (typeof key !== 'string' || typeof index !== 'number' || !RECORD_ARRAYS.has(key)) return {};
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.startsWith(`${JSON.stringify(key)}: [`));
  return start >= 0 && start + 1 + index < lines.length ? { line: start + 2 + index } : {};
}

/** JSON.parse's complaint as one line with a line number; a document that just stops is "truncated". */
function jsonError(text: string, source: string, error: unknown): InputError {
  const message = error instanceof Error ? error.message : String(error);
  const at = /position (\d+)/.exec(message);
  const position = at === null ? text.length : Number(at[1]);
  const line = text.slice(0, position).split('\n').length;
  // Stopped: the parser ran out of text (it says so, or its complaint is at the very end: a file cut
  // just after a record's "}" reads "Expected ',' or ']' after array element ... at position <its
  // length>"), or the text does not end as a document does.
  const ended = !text.trimEnd().endsWith('}') || /end of JSON input|Unterminated/.test(message) || (at !== null && position >= text.length);
  if (ended) return new InputError(`truncated: the JSON ends before the snapshot does (${text.length} bytes)`, { source, line: text.split('\n').length - (text.endsWith('\n') ? 1 : 0) });
  return new InputError(`damaged: not valid JSON (${message.replace(/\s*\(line \d+ column \d+\)/, '').replace(/ in JSON at position \d+.*$/, '')})`, { source, line });
}
