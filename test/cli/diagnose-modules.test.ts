/**
 * `fdleak diagnose --json` loads no zod (model/live-snapshot.ts, fd-kinds.ts, severity.ts; issue
 * 14: loading it was 23-40 ms of the diagnose modules' 43-116 ms on the loaded 2-core box). The
 * bundled CLI is run with a module loader hook that names every file it loads; the files that hold
 * zod's core are those defining `$ZodObject`. `analyze`, which checks what it reads with zod, must
 * load them: the control that shows the hook sees zod where it is loaded. Nor commander (the files
 * that define CommanderError): main.ts runs a plain `diagnose <pid>`, a plain `scan` and a plain
 * `analyze` without it (`rules` goes through commander: the control).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const HOOK = 'data:text/javascript,import{writeSync}from"node:fs";'
  + 'export async function load(url,context,next){writeSync(2,"LOADED "+url+"\\n");return next(url,context)}';
const REGISTER = `data:text/javascript,import{register}from"node:module";register(${JSON.stringify(HOOK)})`;

/** The files of dist/ a run of the CLI with `args` loaded, and which of them hold zod. */
function loaded(args: string[]): { files: string[]; zod: string[] } {
  const r = spawnSync(process.execPath, ['--import', REGISTER, 'bin/fdleak.js', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
  expect(r.stdout).toMatch(/^\{/); // it ran: its JSON report
  const files = [...r.stderr.matchAll(/^LOADED (file:\S+\/dist\/\S+\.js)$/gm)].map((m) => fileURLToPath(m[1]!));
  return { files, zod: files.filter((f) => readFileSync(f, 'utf8').includes('$ZodObject')) };
}

describe('diagnose --json module loading', () => {
  it('loads no zod (analyze, the control, does)', () => {
    const diagnose = loaded(['diagnose', '11400', '--proc-root', 'fixtures/rules/close-wait/fires-server-never-closes', '--json', '--fail-on', 'never']);
    expect(diagnose.files.some((f) => /\/chunks\/diagnose-/.test(f))).toBe(true);
    expect(diagnose.zod).toEqual([]);
    const analyze = loaded(['analyze', 'fixtures/lsof/close-wait-filter.txt', '--json', '--fail-on', 'never']);
    expect(analyze.zod.length).toBeGreaterThan(0);
  });

  it('loads no commander (main.ts reads a plain diagnose, scan or analyze itself); rules, the control, does', () => {
    const commander = (files: string[]): string[] => files.filter((f) => readFileSync(f, 'utf8').includes('CommanderError = class extends Error'));
    const diagnose = loaded(['--debug', 'diagnose', '11400', '--proc-root', 'fixtures/rules/close-wait/fires-server-never-closes', '--json', '--fail-on=never']);
    expect(commander(diagnose.files)).toEqual([]);
    const scan = loaded(['scan', '--proc-root', 'fixtures/scan/basic/proc', '--json', '--top', '3']); // nor a plain scan
    expect(scan.files.some((f) => /\/chunks\/scan-action-/.test(f))).toBe(true);
    expect(commander(scan.files)).toEqual([]);
    const analyze = loaded(['analyze', 'fixtures/lsof/close-wait-filter.txt', '--json', '--fail-on', 'never']); // nor a plain analyze
    expect(analyze.files.some((f) => /\/chunks\/analyze-action-/.test(f))).toBe(true);
    expect(commander(analyze.files)).toEqual([]);
    const rules = loaded(['rules', '--json']);
    expect(commander(rules.files).length).toBeGreaterThan(0);
  });
});
