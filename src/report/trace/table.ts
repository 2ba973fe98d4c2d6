/**
 * The terminal report of `fdleak trace`: the window, then per opening stack (ranked by fds left
 * open) the count with kind and target, socket states at the end, the program's own innermost
 * frame picked out, the frames, and the churn of that stack; then the stacks whose fds were all
 * closed (normal traffic); then runtime advice and notes. Every piece of others' text (paths,
 * symbols, commands, targets) goes through safeText.
 */
import { Chalk } from 'chalk';
import type { FrameOut, TraceResult } from '../../trace/result.js';
import { safeText } from '../../util/safe-text.js';
import type { ReportContext } from '../context.js';

const FRAMES_SHOWN = 8;

/** One frame as "function (file:line)  object" or "symbol+off  object". */
export function frameText(f: FrameOut): string {
  const name = f.function ?? f.symbol ?? (f.address === null ? '?' : f.address);
  const where = f.file === null ? '' : ` (${f.file}${f.line === null ? '' : `:${f.line}`})`;
  const object = f.object.slice(f.object.lastIndexOf('/') + 1);
  return safeText(`${name}${where}  in ${object}`);
}

export function traceTable(result: TraceResult, ctx: ReportContext): string {
  const c = new Chalk({ level: ctx.color ? 1 : 0 });
  const w = result.window;
  const out: string[] = [];
  const what = w.mode === 'attach' ? `pid ${w.pid}` : safeText((w.command ?? []).join(' ').slice(0, 120));
  const procs = result.processes.length;
  out.push(c.bold(`fdleak trace: ${what}`) + c.dim(`  ${(w.durationMs / 1000).toFixed(1)} s, ended by ${w.endedBy}, ${procs} process${procs === 1 ? '' : 'es'}, ${result.totals.events} syscalls`));
  out.push(`fds opened in the window: ${result.totals.opened}, closed: ${result.totals.closed}, still open at the end: ${result.totals.open}, held until their process exited: ${result.totals.heldToExit}`);
  if (result.totals.limitErrors > 0) out.push(c.red(`${result.totals.limitErrors} calls failed with EMFILE/ENFILE: the fd limit was hit during the window`));
  out.push('');
  if (result.leaks.length === 0) out.push(c.green('every fd opened in the window was closed in it'));
  else out.push(c.bold('fds opened in the window and never closed, by the stack that opened them:'));
  result.leaks.forEach((g, i) => {
    const where = [g.open > 0 ? `${g.open} still open` : '', g.heldToExit > 0 ? `${g.heldToExit} held until exit` : ''].filter(Boolean).join(', ');
    out.push('');
    out.push(`${c.bold(`#${i + 1}`)} ${c.yellow(safeText(g.summary))}  ${c.dim(`(${where}; this stack opened ${g.churn.opened}, closed ${g.churn.closed} in the window)`)}`);
    const states = g.targets.flatMap((t) => Object.entries(t.states)).reduce<Record<string, number>>((m, [s, n]) => ({ ...m, [s]: (m[s] ?? 0) + n }), {});
    const orphans = g.targets.reduce((n, t) => n + t.orphans, 0);
    const stateText = [...Object.entries(states).sort((a, b) => b[1] - a[1]).map(([s, n]) => `${n} ${s}`), ...(orphans > 0 ? [`${orphans} orphan (in no socket table)`] : [])];
    if (stateText.length > 0) out.push(`   at the end: ${stateText.join(', ')}`);
    for (const t of g.targets.slice(1, 4)) out.push(c.dim(`   also ${t.count} ${safeText(t.label)}${t.target === '' ? '' : ` ${safeText(t.target)}`}`));
    if (g.ownFrame !== null) out.push(`   ${c.cyan('opened in')} ${c.bold(frameText(g.frames[g.ownFrame]!))}`);
    else if (g.runtime !== null) out.push(`   ${c.cyan('opened by')} the ${g.runtime} interpreter: these native frames are the interpreter's, not the program's (see advice below)`);
    for (const f of g.frames.slice(0, FRAMES_SHOWN)) out.push(c.dim(`     ${frameText(f)}`));
    if (g.frames.length > FRAMES_SHOWN) out.push(c.dim(`     ... ${g.frames.length - FRAMES_SHOWN} more frames`));
    if (g.frames.length === 0) out.push(c.dim('     (no stack: strace could not unwind this call)'));
    out.push(c.dim(`   pids: ${g.processes.map((p) => `${p.pid} (${p.open + p.heldToExit})`).join(', ')}`));
  });
  if (result.churn.length > 0) {
    out.push('');
    out.push(c.bold('churn: stacks whose fds were all closed in the window (normal traffic):'));
    for (const g of result.churn.slice(0, 5)) {
      const f = g.ownFrame === null ? g.frames[0] : g.frames[g.ownFrame];
      out.push(`   ${g.opened} opened, ${g.closed} closed  ${f === undefined ? '(no stack)' : frameText(f)}`);
    }
  }
  if (result.runtimes.length > 0) {
    out.push('');
    for (const r of result.runtimes) out.push(`${c.cyan(`advice (${r.runtime}):`)} ${r.advice}`);
  }
  if (result.warnings.length > 0) {
    out.push('');
    for (const n of result.warnings) out.push(c.yellow(`note: ${safeText(n)}`));
  }
  return `${out.join('\n')}\n`;
}
