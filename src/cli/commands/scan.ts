import type { ScanSort, WalkHelper } from '../../live/scan.js';
import { rankProcesses, scanProcesses } from '../../live/scan.js';
import { scanProm } from '../../report/scan/prom.js';
import { scanJson } from '../../report/scan/json.js';
import { scanTable } from '../../report/scan/table.js';
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
 * finds; a bad --top is an InputError (exit 2). No zod and no snapshot on this path: the collector
 * returns plain counts, and the scan chunk loads in a few ms.
 */
export function scan(options: ScanCommandOptions, io: Io): number {
  const top = options.top === undefined ? undefined : parseCount(options.top, '--top');
  const live = options.procRoot === '/proc';
  const result = scanProcesses({ procRoot: options.procRoot, excludePids: live ? [process.pid] : [], helper: options.helper });
  const ranked = rankProcesses(result.processes, options.sort);
  if (options.debug === true) {
    const w = result.work;
    io.err(`fdleak: scan ${result.durationMs} ms: facts ${w.facts}, walk ${w.walk} (${w.links} readlinks, ${w.helped} of ${result.processes.length} processes on a second thread${options.helper === undefined ? ': none started' : ''}), tables ${w.tables}, orphan check ${w.verify} (${w.verifyLinks} readlinks)\n`);
  }
  if (options.format === 'table') {
    io.out(scanTable(result, ranked, {
      color: useColor(io), top: top ?? DEFAULT_TOP, sort: options.sort,
      root: typeof process.getuid === 'function' && process.getuid() === 0,
    }));
    return 0;
  }
  const cut = top === undefined ? ranked : ranked.slice(0, top);
  io.out(options.format === 'json' ? scanJson(result, cut, options.sort) : scanProm(result, cut));
  return 0;
}
