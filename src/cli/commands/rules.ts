import Table from 'cli-table3';
import { RULES } from '../../rules/index.js';
import type { Io } from '../io.js';

/** `fdleak rules`: every rule with its default severity and thresholds. */
export function listRules(json: boolean, io: Io): number {
  if (json) {
    const doc = RULES.map((r) => ({ id: r.id, severity: r.severity, summary: r.summary, needs: r.needs, thresholds: r.defaults }));
    io.out(`${JSON.stringify({ schema: 'fdleak/rules@1', rules: doc }, null, 2)}\n`);
    return 0;
  }
  const table = new Table({ head: ['rule', 'severity', 'fires on', 'thresholds (default)'], style: { head: [], border: [] }, wordWrap: true, colWidths: [16, 10, 44, 52] });
  for (const r of RULES) {
    const thresholds = Object.entries(r.defaults).map(([k, v]) => `${k}=${v}: ${(r.describe as Record<string, string>)[k]}`).join('\n');
    table.push([r.id, r.severity, r.summary, thresholds]);
  }
  io.out(`${table.toString()}\n`);
  return 0;
}
