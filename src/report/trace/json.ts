import type { TraceResult } from '../../trace/result.js';
import { safeJson } from '../../util/safe-text.js';

/** `fdleak trace --json`: the fdleak/trace@1 document, pretty, others' text escaped by safeJson. */
export function traceJson(result: TraceResult): string {
  return `${safeJson(result, 2)}\n`;
}
