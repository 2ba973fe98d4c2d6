/**
 * Severities and their rank, without zod (finding.ts holds the schema): the rules engine ranks
 * findings on every `diagnose`, and `diagnose --json` loads no zod (see fd-kinds.ts).
 */
export const SEVERITIES = ['critical', 'warning', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** critical > warning > info: rank 0 is the most severe. */
export function severityRank(s: Severity): number {
  return SEVERITIES.indexOf(s);
}
