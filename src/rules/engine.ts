import type { Finding } from '../model/finding.js';
import type { Severity } from '../model/severity.js';
import { severityRank } from '../model/severity.js';
import type { Snapshot } from '../model/snapshot.js';
import type { Rule, Thresholds } from './rule.js';
import { RULES } from './index.js';
import { compareText } from '../util/group-by.js';

export interface SkippedRule {
  rule: string;
  reason: string;
}

export interface EngineResult {
  findings: Finding[];
  /** Rules that could not judge this snapshot, and why (the input lacked what they need). */
  skipped: SkippedRule[];
  /** Ids of the rules that judged it. */
  ran: string[];
}

export interface EngineOptions {
  rules?: ReadonlyArray<Rule>;
  /** Per-rule threshold overrides: { "close-wait": { min: 5 } }. */
  thresholds?: Record<string, Partial<Thresholds>>;
  /** Only these rule ids. */
  only?: ReadonlyArray<string>;
}

const NEED_REASONS: Record<string, string> = {
  fdTables: 'the input has no fd tables (which fds each process holds)',
  socketTables: 'the input has no socket tables with states',
  netnsAware: 'the input cannot tell network namespaces apart',
  limits: 'the input has no fd limits (RLIMIT_NOFILE)',
  sysctls: 'the input has no sysctls (ip_local_port_range)',
  ownerlessRows: 'the input has no rows without an owner (TIME_WAIT, unaccepted connections)',
};

/** Runs every rule that the snapshot can support and ranks the findings. */
export function runRules(snapshot: Snapshot, options: EngineOptions = {}): EngineResult {
  const rules = (options.rules ?? RULES).filter((r) => options.only === undefined || options.only.includes(r.id));
  const commands = new Map(snapshot.processes.map((p) => [p.pid, p.command]));
  const findings: Finding[] = [];
  const skipped: SkippedRule[] = [];
  const ran: string[] = [];
  for (const rule of rules) {
    const missing = rule.needs.filter((need) => !snapshot.coverage[need]);
    if (missing.length > 0) {
      skipped.push({ rule: rule.id, reason: missing.map((m) => NEED_REASONS[m] ?? m).join('; ') });
      continue;
    }
    ran.push(rule.id);
    const thresholds = { ...rule.defaults, ...(options.thresholds?.[rule.id] ?? {}) } as Thresholds;
    for (const draft of rule.check(snapshot, thresholds)) {
      const finding: Finding = {
        rule: rule.id,
        severity: draft.severity ?? rule.severity,
        score: draft.score,
        pid: draft.pid,
        command: draft.pid === null ? null : (commands.get(draft.pid) ?? null),
        count: draft.count,
        message: draft.message,
        evidence: draft.evidence,
        advice: draft.advice ?? rule.advice,
        confidence: draft.confidence ?? 'high',
      };
      if (draft.confidenceReason !== undefined) finding.confidenceReason = draft.confidenceReason;
      findings.push(finding);
    }
  }
  return { findings: rankFindings(findings), skipped, ran };
}

/** Severity, then score descending, then rule id, then pid: the order every reporter shows. */
export function rankFindings(findings: Finding[]): Finding[] {
  return [...findings].sort(
    (a, b) =>
      severityRank(a.severity) - severityRank(b.severity) ||
      b.score - a.score ||
      compareText(a.rule, b.rule) ||
      (a.pid ?? 0) - (b.pid ?? 0),
  );
}

/** True if some finding is at or above `failOn` ("never" never fails). */
export function failsAt(findings: readonly Finding[], failOn: Severity | 'never'): boolean {
  if (failOn === 'never') return false;
  return findings.some((f) => severityRank(f.severity) <= severityRank(failOn));
}
