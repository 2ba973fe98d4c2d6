/**
 * The accept queue limit of each listener (LISTEN Send-Q of `ss -ltn`), which /proc/net/tcp does
 * not show: ss asks the kernel over inet_diag, in the listener's network namespace.
 */
import { parseSs } from '../parse/ss.js';
import { LineSink } from '../util/skips.js';
import { runIn } from './programs.js';

/** Arguments for the listener backlog query: no header, listeners, numeric, with inodes. */
const SS_LISTEN_ARGS = ['-H', '-l', '-t', '-n', '-e'] as const;

/**
 * Runs `ss -Hltne` (under nsenter for another network namespace) and returns backlog limits by
 * socket inode; null when ss is missing, fails, or the namespace cannot be entered (say unknown).
 */
export async function runSsListenBacklogs(netnsPath: string | null, timeoutMs = 5000): Promise<Map<string, number> | null> {
  const stdout = await runIn(netnsPath, ['ss', ...SS_LISTEN_ARGS], timeoutMs);
  if (stdout === null) return null;
  const sink = new LineSink(false);
  const out = new Map<string, number>();
  for (const s of parseSs(stdout, `ss ${SS_LISTEN_ARGS.join(' ')}`, { proto: 'tcp', sink })) {
    if (s.inode !== null && s.backlog !== null) out.set(s.inode, s.backlog);
  }
  return out;
}
