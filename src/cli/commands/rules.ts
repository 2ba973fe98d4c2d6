import Table from 'cli-table3';
import { RULES } from '../../rules/index.js';
import type { RuleConfig } from '../../rules/config.js';
import { effectiveThresholds } from '../../rules/config.js';
import { safeText } from '../../util/safe-text.js';
import type { Io } from '../io.js';

/**
 * `fdleak rules`: every rule with its severity and thresholds: the values in effect (after
 * fdleak.config.json / --config and --set) and where each came from.
 */
export function listRules(json: boolean, io: Io, config?: RuleConfig): number {
  if (json) {
    const doc = RULES.map((r) => {
      const values = effectiveThresholds(r, config);
      const off = config?.off.get(r.id);
      return {
        id: r.id, severity: r.severity, summary: r.summary, needs: r.needs,
        thresholds: Object.fromEntries(values.map((v) => [v.key, v.value])),
        enabled: off === undefined,
        ...(off === undefined ? {} : { disabledBy: off }),
        defaults: r.defaults,
        origins: Object.fromEntries(values.map((v) => [v.key, v.origin])),
      };
    });
    io.out(`${JSON.stringify({ schema: 'fdleak/rules@1', rules: doc }, null, 2)}\n`);
    return 0;
  }
  const table = new Table({ head: ['rule', 'severity', 'fires on', 'thresholds (in effect)'], style: { head: [], border: [] }, wordWrap: true, colWidths: [16, 10, 44, 52] });
  for (const r of RULES) {
    const off = config?.off.get(r.id);
    const thresholds = effectiveThresholds(r, config).map((v) =>
      `${v.key}=${v.value}${v.origin === 'default' ? '' : ` (${safeText(v.origin)}; default ${v.default})`}: ${(r.describe as Record<string, string>)[v.key]}`).join('\n');
    table.push([r.id, off === undefined ? r.severity : `off (${safeText(off)})`, r.summary, thresholds]);
  }
  io.out(`${table.toString()}\n`);
  return 0;
}
