import type { WalkHelper } from '../../live/scan.js';
import { scanProcesses } from '../../live/scan.js';
import { rankProcesses, scanSortKey } from '../../model/queries.js';
import type { ScanSort } from '../../model/scan.js';
import { scanProm } from '../../report/scan/prom.js';
import { scanJson } from '../../report/scan/json.js';
import { PLAIN, scanTable } from '../../report/scan/table.js';
import type { Io } from '../io.js';
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
}

/** Rows of the table when --top is not given: a screenful. */
export const DEFAULT_TOP = 20;

/**
 * `fdleak scan`: every process ranked by open handles. A listing, not a verdict: 0 whatever it
 * finds; a bad --top is an InputError (exit 2). The collector returns model records (model/scan.ts)
 * and its timings apart; zod is not loaded on this path, so the scan chunk loads in a few ms.
 */
export async function scan(options: ScanCommandOptions, io: Io): Promise<number> {
  const top = options.top === undefined ? undefined : parseCount(options.top, '--top');
  const live = options.procRoot === '/proc';
  const { snapshot, timings: t } = await scanProcesses({ procRoot: options.procRoot, excludePids: live ? [process.pid] : [], helper: options.helper });
  const ranked = rankProcesses(snapshot.processes, scanSortKey(options.sort), (p) => p.fds);
  if (options.debug === true) {
    io.err(`fdleak: scan ${t.durationMs} ms: facts ${t.facts}, walk ${t.walk} (${t.links} readlinks, ${t.helped} of ${snapshot.processes.length} processes on a second thread${options.helper === undefined ? ': none started' : ''}), tables ${t.tables}, orphan check ${t.verify} (${t.verifyLinks} readlinks)${t.sysctls > 0 ? `, other namespaces' sysctls ${t.sysctls} more` : ''}\n`);
  }
  if (options.format === 'table') {
    // chalk only when there is colour to paint: a cron job or a pipe does not load it (a few ms of start-up).
    const paint = useColor(io) ? new (await import('chalk')).Chalk({ level: 1 }) : PLAIN;
    io.out(scanTable(snapshot, ranked, { paint, top: top ?? DEFAULT_TOP, sort: options.sort }));
    return 0;
  }
  const cut = top === undefined ? ranked : ranked.slice(0, top);
  io.out(options.format === 'json' ? scanJson(snapshot, cut, options.sort) : scanProm(snapshot, cut, t.durationMs));
  return 0;
}
