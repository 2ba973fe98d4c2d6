import { Chalk } from 'chalk';
import Table from 'cli-table3';
import type { Finding } from '../../model/finding.js';
import type { Snapshot } from '../../model/snapshot.js';
import type { SkippedRule } from '../../rules/engine.js';
import { TCP_STATES } from '../../model/socket.js';
import { percent } from '../../util/format.js';
import { safeText } from '../../util/safe-text.js';
import type { ReportContext } from '../context.js';
import { summarize } from './json.js';
import { countAnonTypes } from '../../model/fd-kinds.js';
import type { Location } from '../../model/location.js';
import { COMPACT, renderFindings, TABLE_STYLE } from '../findings-text.js';

/** The terminal report of `fdleak diagnose`: header, fds by kind, sockets by state, ranked findings. */
export function diagnoseTable(snapshot: Snapshot, findings: readonly Finding[], skipped: readonly SkippedRule[], ctx: ReportContext, asked?: AskedThread): string {
  const c = new Chalk({ level: ctx.color ? 1 : 0 });
  const p = snapshot.processes[0]!;
  const s = summarize(snapshot, p);
  const out: string[] = [];
  const soft = p.fdLimit?.soft;
  const used = soft === undefined ? 'limit unknown' : soft === 'unlimited' ? 'no limit' : `${p.fdCount} of ${soft} (${percent(p.fdCount, soft)})`;
  out.push(c.bold(`pid ${p.pid} ${safeText(p.command)}`) + (p.cmdline ? c.dim(`  ${safeText(p.cmdline.slice(0, 100))}`) : ''));
  if (asked !== undefined) out.push(c.yellow(`pid ${asked.tid} is a thread (${safeText(asked.name ?? '?')}) of this process: the process is what holds the fds`));
  out.push(`fds open: ${used}${p.fdLimit ? `, hard limit ${p.fdLimit.hard}` : ''}   netns: ${p.netns ?? 'unknown'}   threads: ${p.threads ?? '?'}`);
  if (p.location !== undefined && p.location !== null) out.push(`lives in: ${locationText(p.location)}`);
  out.push('');

  const kinds = new Table({ head: ['fds by kind', 'count'], style: TABLE_STYLE, colAligns: ['left', 'right'], ...COMPACT });
  const anon = countAnonTypes(snapshot.fds);
  for (const [kind, n] of Object.entries(s.fds.byKind)) {
    if (n > 0) kinds.push([kind, n]);
    if (kind === 'anon_inode') for (const [type, m] of Object.entries(anon)) kinds.push([c.dim(`  ${safeText(type)}`), m]);
  }
  // TCP states in one table, other kinds of socket (unix, udp, ...) in another; a table with no
  // rows is not drawn.
  const tcp = Object.entries(s.sockets.byState).filter(([state]) => isTcpState(state));
  const other = Object.entries(s.sockets.byState).filter(([state]) => !isTcpState(state));
  const tables = [kinds.toString()];
  if (tcp.length > 0) tables.push(countTable('TCP by state', tcp));
  if (other.length > 0 || s.sockets.orphans > 0) {
    const rows: Array<[string, number]> = other.map(([proto, n]) => [proto.toLowerCase(), n]);
    if (s.sockets.orphans > 0) rows.push([c.yellow('in no table (orphan)'), s.sockets.orphans]);
    tables.push(countTable('other sockets', rows));
  }
  out.push(tables.reduce(sideBySide));
  out.push('');
  out.push(...renderFindings(c, findings, false));
  const notes = [...skipped.map((r) => `rule ${r.rule} could not run: ${r.reason}`), ...snapshot.warnings];
  if (notes.length > 0) {
    out.push('');
    for (const n of notes) out.push(c.yellow(`note: ${safeText(n)}`));
  }
  return `${out.join('\n')}\n`;
}

/** `diagnose <tid>` of a thread: the thread asked for, reported as its process. */
export interface AskedThread {
  tid: number;
  name: string | null;
}

const TCP_STATE_NAMES: ReadonlySet<string> = new Set([...TCP_STATES, 'UNKNOWN']);

function isTcpState(state: string): boolean {
  return TCP_STATE_NAMES.has(state);
}

function countTable(head: string, rows: Array<[string, number]>): string {
  const t = new Table({ head: [head, 'count'], style: TABLE_STYLE, colAligns: ['left', 'right'], ...COMPACT });
  for (const row of rows) t.push(row);
  return t.toString();
}

function sideBySide(a: string, b: string): string {
  const left = a.split('\n');
  const right = b.split('\n');
  const width = Math.max(...left.map(visibleLength));
  const out: string[] = [];
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    const l = left[i] ?? '';
    out.push(`${l}${' '.repeat(width - visibleLength(l))}   ${right[i] ?? ''}`.trimEnd());
  }
  return out.join('\n');
}

function visibleLength(s: string): number {
  // eslint-disable-next-line no-control-regex
  return s.replace(/\u001b\[[0-9;]*m/g, '').length;
}

/** "container 4f1c0a9b3d2e (docker, docker-4f1c...scope)", "unit nginx.service", "pod <uid> (kubernetes)". */
function locationText(l: Location): string {
  const extra = [l.runtime, l.pod === null || l.kind === 'pod' ? null : `pod ${l.pod}`, l.unit === null || l.unit === l.name ? null : l.unit].filter((x) => x !== null);
  return safeText(`${l.kind === 'pod' ? '' : `${l.kind} `}${l.name}${extra.length > 0 ? ` (${extra.join(', ')})` : ''}   cgroup ${l.cgroup}`);
}
