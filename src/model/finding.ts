import { SEVERITIES } from './severity.js';
import { z } from './zod.js';

export type { Severity } from './severity.js';
export const SeveritySchema = z.enum(SEVERITIES);

/** A ranked, short piece of evidence: a peer, a listener, a limit. Plain values only (stable JSON). */
export const EvidenceSchema = z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()]));
export type Evidence = z.infer<typeof EvidenceSchema>;

export const FindingSchema = z.object({
  rule: z.string().check(z.regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/)),
  severity: SeveritySchema,
  /** Higher is worse; ranks findings of one severity. */
  score: z.number(),
  pid: z.nullable(z.number().check(z.int(), z.positive())),
  command: z.nullable(z.string()),
  /** How many sockets or fds the finding is about. */
  count: z.number().check(z.int(), z.nonnegative()),
  message: z.string(),
  evidence: z.array(EvidenceSchema),
  advice: z.string(),
  /** "low" when the input cannot prove it (e.g. lsof text knows nothing of network namespaces). */
  confidence: z.enum(['high', 'low']),
  confidenceReason: z.optional(z.string()),
});
export type Finding = z.infer<typeof FindingSchema>;
