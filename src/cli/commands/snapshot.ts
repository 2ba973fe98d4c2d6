import { collectLiveProcess } from '../../live/diagnose.js';
import { combineSnapshots } from '../../model/combine.js';
import type { Snapshot } from '../../model/snapshot.js';
import { formatSnapshot, writeSnapshotFile } from '../../store/snapshot-file.js';
import type { Io } from '../io.js';

/**
 * `fdleak snapshot <pid>... [-o file]`: each process read as `diagnose` reads it, all in one
 * fdleak/snapshot@1 document, to `file` (written whole or not at all) or stdout ("-" or none).
 */
export async function snapshot(pids: readonly number[], output: string | undefined, procRoot: string, io: Io): Promise<number> {
  const parts: Snapshot[] = [];
  for (const pid of pids) parts.push(await collectLiveProcess(pid, { procRoot }));
  const combined = combineSnapshots(parts);
  if (output === undefined || output === '-') io.out(formatSnapshot(combined));
  else writeSnapshotFile(output, combined);
  return 0;
}
