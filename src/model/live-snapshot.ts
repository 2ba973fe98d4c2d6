/**
 * The snapshot of fdleak's own live reader (live/diagnose.ts), assembled without zod: every record
 * of it, the process, namespace, host and coverage records included, is built in TypeScript by
 * that reader, each object's keys in its schema's order, so zod would hand it back unchanged
 * (test/live/typed-records.test.ts checks this on live processes of every kind: the whole snapshot
 * passes SnapshotSchema, and its JSON is that of buildSnapshot's checked copy). Measured on a
 * diagnose of a 15,000-fd process (12,500 rows its own): zod's per-record check was 25-35 ms of the
 * run, 31% of the main thread's work after the reads. And without zod,
 * `fdleak diagnose --json` loads no zod at all: measured on the loaded 2-core box, loading the zod
 * chunk cost 23-40 ms of a 43-116 ms load of the diagnose modules, on the main thread's critical
 * path. Text read from a capture or a snapshot file is never assembled here: buildSnapshot
 * (snapshot.ts) checks it.
 */
import type { Snapshot, SnapshotInput } from './snapshot.js';

/** buildSnapshot's result for the live reader's `input`, with nothing checked (see above). */
export function liveSnapshot(input: SnapshotInput): Snapshot {
  return { schema: 'fdleak/snapshot@1', ...input };
}
