import type { Evidence, Finding } from '../model/finding.js';
import { safeText } from '../util/safe-text.js';

/** A finding whose message and evidence text are safe for a terminal (paths and names in them are others' text). */
export function escapeFinding(f: Finding): Finding {
  const evidence = f.evidence.map((row) => {
    const out: Evidence = {};
    for (const [k, v] of Object.entries(row)) out[k] = typeof v === 'string' ? safeText(v) : v;
    return out;
  });
  return { ...f, message: safeText(f.message), command: f.command === null ? null : safeText(f.command), evidence };
}
