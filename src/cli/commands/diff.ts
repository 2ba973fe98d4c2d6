import type { Severity } from '../../model/finding.js';
import { diffSnapshots } from '../../model/diff.js';
import { failsAt, runRules } from '../../rules/engine.js';
import { readSnapshotFile } from '../../store/snapshot-file.js';
import type { Io } from '../io.js';
import { useColor } from '../io.js';

export interface DiffOptions {
  json: boolean;
  failOn: Severity | 'never';
  version: string;
}

/** `fdleak diff <a> <b>`: what appeared, vanished and grew per process, and fd-growth. Returns the exit code. */
export async function diff(pathA: string, pathB: string, options: DiffOptions, io: Io): Promise<number> {
  const a = readSnapshotFile(pathA);
  const b = readSnapshotFile(pathB);
  const result = diffSnapshots(a, b);
  const { findings } = runRules(result.judged, { only: ['fd-growth'] });
  const files = { a: { path: pathA, takenAt: a.takenAt }, b: { path: pathB, takenAt: b.takenAt } };
  if (options.json) {
    const { diffJson } = await import('../../report/diff/json.js');
    io.out(diffJson(files, result, findings));
  } else {
    const { diffText } = await import('../../report/diff/text.js');
    io.out(diffText(files, result, findings, { color: useColor(io), version: options.version, generatedAt: b.takenAt }));
  }
  return failsAt(findings, options.failOn) ? 1 : 0;
}
