/**
 * What an analysis could judge: the rules that ran, and what the input kept from them (rules that
 * could not run, rows that name no owner, fds whose network namespace is unknown). A report with no
 * findings says this instead of "nothing here looks like a leak" when the view was partial.
 */
import { isUnnamedOwner, socketRowCount } from '../../model/queries.js';
import type { Snapshot } from '../../model/snapshot.js';
import type { SkippedRule } from '../../rules/engine.js';

export interface Judged {
  /** Rule ids that ran on the input. */
  rules: string[];
  /** What limited the judgement, in words; empty when nothing did. */
  limits: string[];
}

export function judgedScope(snapshot: Snapshot, ran: readonly string[], skipped: readonly SkippedRule[]): Judged {
  const limits: string[] = [];
  if (skipped.length > 0) limits.push(`${skipped.length} rule${skipped.length === 1 ? '' : 's'} could not run (${skipped.map((s) => s.rule).join(', ')}): the input lacks what they need`);
  let unnamed = 0;
  for (const s of snapshot.sockets) if (isUnnamedOwner(s)) unnamed++;
  if (unnamed > 0) limits.push(`${unnamed} of ${socketRowCount(snapshot)} socket rows name no owner: what they show is judged per listener or peer, with pid null`);
  if (snapshot.coverage.fdTables && !snapshot.coverage.netnsAware) limits.push('network namespaces are unknown: a socket in no table may live in another namespace (orphan verdicts are low confidence)');
  return { rules: [...ran], limits };
}

/** One line for a report with no findings over a partial view: what was judged, and its limits. */
export function judgedText(snapshot: Snapshot, judged: Judged): string | undefined {
  if (judged.limits.length === 0) return undefined;
  // Counted per process (fdKinds): a capture keeps records only of the socket fds no row names.
  const socketFds = snapshot.processes.reduce((n, p) => n + (p.fdKinds?.socket ?? 0), 0);
  const fds = snapshot.coverage.fdTables ? `${socketFds} socket fds and ` : '';
  return `no findings in what this input let fdleak judge: ${judged.rules.length} rules (${judged.rules.join(', ')}) on ${fds}${socketRowCount(snapshot)} socket rows; ${judged.limits.join('; ')}`;
}
