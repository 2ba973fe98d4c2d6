/**
 * The facts analyze shows per process (report/diagnose/json.ts summarize), over the rows a large
 * capture folded too (model/folded.ts): their states (summarize already counts the folded orphans).
 */
import { foldOf } from '../../model/folded.js';
import type { Process } from '../../model/process.js';
import type { Snapshot } from '../../model/snapshot.js';
import { compareText } from '../../util/group-by.js';
import type { ProcessSummary } from '../diagnose/json.js';
import { summarize } from '../diagnose/json.js';

export function analyzeSummary(snapshot: Snapshot, process: Process): ProcessSummary {
  const s = summarize(snapshot, process);
  const folded = foldOf(snapshot)?.statesOf(process.pid);
  if (foldOf(snapshot) === undefined) return s;
  const states = new Map(Object.entries(s.sockets.byState));
  let owned = 0;
  for (const [state, n] of folded ?? []) {
    states.set(state, (states.get(state) ?? 0) + n);
    owned += n;
  }
  const byState: Record<string, number> = {};
  for (const [state, n] of [...states].sort((a, b) => b[1] - a[1] || compareText(a[0], b[0]))) byState[state] = n;
  // a process whose fd table lists no socket fd counts the rows it owns (summarize)
  const total = s.fds.byKind.socket > 0 ? s.sockets.total : s.sockets.total + owned;
  return { ...s, sockets: { total, orphans: s.sockets.orphans, byState } };
}
