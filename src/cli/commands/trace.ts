import { collectTrace } from '../../live/trace/collect.js';
import type { StraceTarget } from '../../live/trace/strace.js';
import { traceJson } from '../../report/trace/json.js';
import type { Io } from '../io.js';
import { useColor } from '../io.js';

export interface TraceCommandOptions {
  json: boolean;
  durationMs: number | undefined;
  top: number;
  version: string;
  debug?: boolean;
}

/**
 * `fdleak trace <pid>` / `fdleak trace -- <command>`: SIGINT and SIGTERM end the window (the
 * tracee is detached, the report printed); a second one is left to its default action. Returns 0
 * (the report is the answer; leaks are not an exit status) or throws InputError (exit 2).
 */
export async function trace(target: StraceTarget, options: TraceCommandOptions, io: Io): Promise<number> {
  const table = options.json ? undefined : await import('../../report/trace/table.js');
  const controller = new AbortController();
  const onSignal = (): void => controller.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const result = await collectTrace(target, {
      durationMs: options.durationMs, signal: controller.signal, top: options.top,
      onTick: options.debug === true ? (s) => io.err(`fdleak: ${s.events} syscalls, ${s.heldFds} fds held, rss ${(process.memoryUsage.rss() / 2 ** 20).toFixed(1)} MiB\n`) : undefined,
    });
    io.out(table === undefined ? traceJson(result) : table.traceTable(result, { color: useColor(io), version: options.version, generatedAt: result.window.endedAt }));
    return 0;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}
