import { z } from './zod.js';

export const SEVERITIES = ['critical', 'warning', 'info'] as const;
export const SeveritySchema = z.enum(SEVERITIES);
export type Severity = z.infer<typeof SeveritySchema>;

/** critical > warning > info: rank 0 is the most severe. */
export function severityRank(s: Severity): number {
  return SEVERITIES.indexOf(s);
}

/** A ranked, short piece of evidence: a peer, a listener, a limit. Plain values only (stable JSON). */
export type Evidence = Record<string, string | number | boolean | null>;

export interface Finding {
  rule: string;
  severity: Severity;
  /** Higher is worse; ranks findings of one severity. */
  score: number;
  pid: number | null;
  command: string | null;
  /** How many sockets or fds the finding is about. */
  count: number;
  message: string;
  evidence: Evidence[];
  advice: string;
  /** "low" when the input cannot prove it (e.g. lsof text knows nothing of network namespaces). */
  confidence: 'high' | 'low';
  confidenceReason?: string;
}
