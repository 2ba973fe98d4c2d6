import type { ScanOutcome, WalkHelper } from '../../live/scan.js';
import { scanProcesses } from '../../live/scan.js';
import type { Finding } from '../../model/finding.js';
import type { LocationGroupBy } from '../../model/location-groups.js';
import { rankProcesses, scanSortKey } from '../../model/queries.js';
import type { ScanSort } from '../../model/scan.js';
import type { ScanGrowth } from '../../model/scan-growth.js';
import { scanProm } from '../../report/scan/prom.js';
import { scanJson } from '../../report/scan/json.js';
import { PLAIN, scanTable } from '../../report/scan/table.js';
import type { RuleConfig } from '../../rules/config.js';
import type { Io } from '../io.js';
import { startedFromSnapshot } from '../startup.js';
import { parseCount } from '../options.js';
import { useColor } from '../io.js';

export interface ScanCommandOptions {
  format: 'table' | 'json' | 'prometheus';
  /** --top as typed: rows (table) or processes (json, prometheus); undefined: 20 rows / every process. */
  top: string | undefined;
  sort: ScanSort;
  procRoot: string;
  /** A second thread for the fd walk, started by bin/fdleak.js when a core was free (cli/prefetch.ts). */
  helper?: WalkHelper;
  /** --debug: where the time went, on stderr. */
  debug?: boolean;
  /** --sample: read the box twice this many ms apart; growth per process and fd-growth. */
  sampleMs?: number;
  /** --group: sum the processes by where they live (table and JSON). */
  group?: LocationGroupBy;
  /** Thresholds (--set, --config): fd-growth's, with --sample. */
  rules?: RuleConfig;
}

/** Rows of the table when --top is not given: a screenful. */
export const DEFAULT_TOP = 20;

/**
 * `fdleak scan`: every process ranked by open handles. A listing, not a verdict: 0 whatever it
 * finds (fd-growth findings of --sample included); a bad --top is an InputError (exit 2). The
 * collector returns model records (model/scan.ts) and its timings apart; zod is not loaded on the
 * path without --sample, so the scan chunk loads in a few ms.
 */
export async function scan(options: ScanCommandOptions, io: Io): Promise<number> {
  const top = options.top === undefined ? undefined : parseCount(options.top, '--top');
  const live = options.procRoot === '/proc';
  const base = { procRoot: options.procRoot, excludePids: live ? [process.pid] : [] };
  let outcome: ScanOutcome;
  let sampled: { growth: ScanGrowth; findings: Finding[] } | undefined;
  if (options.sampleMs === undefined) {
    outcome = await scanProcesses({ ...base, helper: options.helper });
  } else {
    ({ outcome, ...sampled } = await sampleScan(base, options.sampleMs, options.rules));
  }
  const { snapshot, timings: t } = outcome;
  const growth = sampled?.growth;
  const growthKey = growth === undefined ? undefined : (p: { pid: number }) => growth.byPid.get(p.pid)?.perSecond ?? null;
  const ranked = rankProcesses(snapshot.processes, scanSortKey(options.sort, growthKey), (p) => p.fds);
  if (options.debug === true) {
    io.err(`fdleak: scan ${t.durationMs} ms${startedFromSnapshot() ? ' (start-up snapshot)' : ''}: facts ${t.facts}, walk ${t.walk} (${t.links} readlinks, ${t.helped} of ${snapshot.processes.length} processes on a second thread${options.helper === undefined ? ': none started' : ''}), tables ${t.tables} (${t.tablesHelped} of ${snapshot.host.namespaces.length} namespaces read on the second thread, ${t.tablesReread} read again after the walk), orphan check ${t.verify} (${t.verifyLinks} readlinks; ${t.verifyLinksEarly} more during the walk)${t.sysctls > 0 ? `, other namespaces' sysctls ${t.sysctls} more` : ''}\n`);
    const { handedOut, began, walked, tables, verified, helper } = t.timeline;
    const h = helper === null ? 'none' : `got the walk ${helper[0]}, tables ${helper[1]}-${helper[2]}, walk done ${helper[3]}`;
    io.err(`fdleak: scan timeline, ms since start: walk handed out ${handedOut === null ? '-' : ms1(handedOut)}, scan began ${began}, walk done ${walked}, tables ${tables}, orphan check ${verified}; helper: ${h}\n`);
  }
  if (options.format === 'table') {
    // chalk only when there is colour to paint: a cron job or a pipe does not load it (a few ms of start-up).
    const paint = useColor(io) ? new (await import('chalk')).Chalk({ level: 1 }) : PLAIN;
    io.out(scanTable(snapshot, ranked, { paint, top: top ?? DEFAULT_TOP, sort: options.sort, growth, group: options.group }));
    if (sampled !== undefined) {
      const { Chalk } = await import('chalk');
      const { renderFindings } = await import('../../report/findings-text.js');
      io.out(`\n${renderFindings(new Chalk({ level: useColor(io) ? 1 : 0 }), sampled.findings, true, SHOWN_GROWTH).join('\n')}\n`);
    }
    return 0;
  }
  const cut = top === undefined ? ranked : ranked.slice(0, top);
  if (options.format === 'prometheus') {
    io.out(scanProm(snapshot, cut, t.durationMs, growth));
    return 0;
  }
  const findings = sampled === undefined ? undefined : (await import('../../report/diagnose/json.js')).findingJson;
  io.out(scanJson(snapshot, cut, options.sort, { growth, group: options.group, findings: findings === undefined ? undefined : sampled!.findings.map(findings) }));
  return 0;
}

const ms1 = (v: number): number => Math.round(v * 10) / 10;

/** fd-growth findings shown in full under the table (the top growers); --json lists them all. */
const SHOWN_GROWTH = 5;

/**
 * Two scans `ms` apart (from start to start: each process is read about `ms` after its first
 * read), compared by pid + start time, and fd-growth over each growing process's two points with
 * the thresholds in force: the rule code `diagnose --sample` runs.
 */
async function sampleScan(base: { procRoot: string; excludePids: number[] }, ms: number, rules: RuleConfig | undefined):
  Promise<{ outcome: ScanOutcome; growth: ScanGrowth; findings: Finding[] }> {
  // A node: built-in by getBuiltinModule, not import(): the start-up snapshot (cli/snapshot.ts) has no import().
  const { setTimeout: sleep } = process.getBuiltinModule('node:timers/promises');
  const { compareScans, growthSnapshot } = await import('../../model/scan-growth.js');
  const { runRules } = await import('../../rules/engine.js');
  const { engineOptions } = await import('../../rules/config.js');
  const started = performance.now();
  const first = await scanProcesses({ ...base, kinds: true });
  await sleep(Math.max(0, started + ms - performance.now()));
  const second = await scanProcesses({ ...base, kinds: true });
  const growth = compareScans(first.snapshot, first.walked!, second.snapshot, second.walked!, ms);
  const engine = engineOptions(rules);
  // fd-growth only, unless the configuration turned it off (then `only` lacks it and nothing runs).
  const only = (engine.only ?? ['fd-growth']).filter((id) => id === 'fd-growth');
  const { findings } = runRules(growthSnapshot(second.snapshot, growth), { ...engine, only });
  return { outcome: second, growth, findings };
}
