import type { Evidence, Severity } from '../model/finding.js';
import type { Coverage, Snapshot } from '../model/snapshot.js';

/** What a rule's check returns; the engine adds rule id, default severity, command, ranking. */
export interface Draft {
  pid: number | null;
  score: number;
  count: number;
  message: string;
  evidence: Evidence[];
  /** Overrides the rule's default severity (e.g. fd-limit above its critical threshold). */
  severity?: Severity;
  /** Overrides the rule's advice with a more specific text. */
  advice?: string;
  confidence?: 'high' | 'low';
  confidenceReason?: string;
}

export type Thresholds = Record<string, number>;

export interface Rule<O extends Thresholds = Thresholds> {
  /** kebab-case, equal to the file name. */
  id: string;
  /** Default severity of its findings. */
  severity: Severity;
  /** One line for `fdleak rules` and the README table. */
  summary: string;
  /** What the snapshot must hold for the rule to judge; otherwise it is skipped, with the reason. */
  needs: ReadonlyArray<keyof Coverage>;
  /** Every threshold lives here and nowhere else. */
  defaults: O;
  /** Plain-words meaning of each threshold, for `fdleak rules`. */
  describe: Record<keyof O, string>;
  /** What usually causes the pattern and what to look at. */
  advice: string;
  /** Pure: no I/O, no clock (use snapshot.takenAt), no randomness, no logging, no sorting. */
  check(snapshot: Snapshot, options: O): Draft[];
}

export const defineRule = <O extends Thresholds>(rule: Rule<O>): Rule<O> => rule;

