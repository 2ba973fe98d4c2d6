import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { InputError } from '../errors.js';
import type { Io } from './io.js';
import { processIo } from './io.js';
import { parseFailOn, parsePid } from './options.js';
import type { Prefetch } from './prefetch.js';

/** The package version, read once from package.json (no JSON import: keeps start-up lean). */
export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

interface State {
  code: number;
  debug: boolean;
  /** A second thread bin/fdleak.js started while the modules loaded (prefetch.ts). */
  prefetch?: Prefetch;
}

const EXAMPLES = `
Examples:
  $ fdleak diagnose 4113              why does pid 4113 hold so many fds?
  $ fdleak diagnose 4113 --json       the same, as JSON (schema fdleak/diagnose@1)
  $ fdleak scan --top 10              which processes hold the most fds and sockets
  $ lsof -n | fdleak analyze          diagnose captured text from a pipe
  $ fdleak rules                      what each rule checks, with thresholds

Exit codes: 0 no finding at or above --fail-on, 1 at least one, 2 bad usage or input.`;

/** The commander program; each command loads its code on first use so start-up stays fast. */
export function createProgram(io: Io, state: State): Command {
  const program = new Command('fdleak')
    .description('find file-descriptor and socket leaks on Linux: which process, which sockets, why')
    .version(version(), '-V, --version')
    .option('--debug', 'print stack traces of internal errors')
    .addHelpText('after', EXAMPLES)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.out(s),
      writeErr: (s) => io.err(s),
      // One line: commander's message plus where to look next.
      outputError: (s, write) => write(`fdleak: ${s.replace(/^error: /, '').trimEnd()} (run fdleak --help for usage)\n`),
    });
  program.hook('preAction', (cmd) => {
    state.debug = cmd.opts<{ debug?: boolean }>().debug === true;
  });
  const failOn = (): Option => new Option('--fail-on <severity>', 'exit 1 when a finding is at or above: critical, warning, info, never').default('warning');

  program
    .command('diagnose')
    .description('diagnose one live process: fds by kind, sockets by state, ranked findings')
    .argument('<pid>', 'process id')
    .option('--json', 'print JSON (schema fdleak/diagnose@1)')
    .addOption(failOn())
    .addOption(new Option('--proc-root <dir>', 'read this /proc tree instead of /proc (tests, captured trees)').default('/proc').hideHelp())
    .addHelpText('after', '\nExamples:\n  $ fdleak diagnose 4113\n  $ fdleak diagnose $(pgrep -o nginx) --json --fail-on critical')
    .action(async (pidText: string, opts: { json?: boolean; failOn: string; procRoot: string }) => {
      const pid = parsePid(pidText);
      const { diagnose } = await import('./commands/diagnose.js');
      state.code = await diagnose(pid, { json: opts.json === true, failOn: parseFailOn(opts.failOn), procRoot: opts.procRoot, version: version(), prefetch: state.prefetch?.procPid, debug: state.debug }, io);
    });

  program
    .command('scan')
    .description('every process ranked by open fds, with sockets, orphan sockets and limit headroom')
    .option('--json', 'print JSON (schema fdleak/scan@1)')
    .option('--prometheus', 'print Prometheus text exposition (node_exporter textfile collector)')
    .option('--top <n>', 'rows to show (default: 20 in the table, every process in --json/--prometheus)')
    .addOption(new Option('--sort <key>', 'rank by (headroom: closest to its fd limit first)').choices(['fds', 'sockets', 'orphans', 'headroom']).default('fds'))
    .addOption(new Option('--proc-root <dir>', 'read this /proc tree instead of /proc (tests, captured trees)').default('/proc').hideHelp())
    .addHelpText('after', '\nExamples:\n  $ fdleak scan --top 10\n  $ fdleak scan --sort orphans\n  $ fdleak scan --json | jq \'.processes[] | select(.limitUsed > 0.8)\'\n  $ fdleak scan --prometheus > /var/lib/node_exporter/textfile/fdleak.prom.$$ && mv /var/lib/node_exporter/textfile/fdleak.prom.$$ /var/lib/node_exporter/textfile/fdleak.prom')
    .action(async (opts: { json?: boolean; prometheus?: boolean; top?: string; sort: string; procRoot: string }) => {
      if (opts.json === true && opts.prometheus === true) throw new InputError('choose one of --json and --prometheus', { source: 'scan' });
      const { scan } = await import('./commands/scan.js');
      const format = opts.json === true ? 'json' : opts.prometheus === true ? 'prometheus' : 'table';
      state.code = await scan({ format, top: opts.top, sort: opts.sort as 'fds', procRoot: opts.procRoot, helper: state.prefetch?.scanHelper, debug: state.debug }, io);
    });

  program
    .command('analyze')
    .description('diagnose captured lsof, lsof -F, ss, netstat or /proc/net text from files or stdin')
    .argument('[files...]', 'captures to read together ("-" or none: stdin)')
    .addOption(new Option('--format <format>', 'input format').choices(['auto', 'lsof', 'lsof-F', 'ss', 'netstat', 'proc-net']).default('auto'))
    .option('--json', 'print JSON (schema fdleak/analyze@1)')
    .addOption(failOn())
    .addHelpText('after', '\nExamples:\n  $ lsof -n | fdleak analyze\n  $ ss -tanp | fdleak analyze -\n  $ fdleak analyze lsof.txt ss.txt --json     (taken at the same moment: merged)')
    .action(async (files: string[], opts: { json?: boolean; format: string; failOn: string }) => {
      const failOnValue = parseFailOn(opts.failOn);
      if (files.length === 0 && io.stdinIsTTY) {
        throw new InputError('no input: give capture files, or pipe text in (lsof -n | fdleak analyze)', { source: 'analyze' });
      }
      const { analyze } = await import('./commands/analyze.js');
      const format = opts.format === 'auto' ? undefined : (opts.format as 'lsof');
      state.code = await analyze(files, { json: opts.json === true, format, failOn: failOnValue, version: version() }, io);
    });

  program
    .command('rules')
    .description('list the rules with their default severity and thresholds')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const { listRules } = await import('./commands/rules.js');
      state.code = listRules(opts.json === true, io);
    });

  return program;
}

/**
 * Runs the CLI; returns the exit code (0 clean, 1 findings at --fail-on, 2 usage/input/internal error).
 * `prefetch`: what bin/fdleak.js already started for `diagnose <pid>` or `scan` (prefetch.ts).
 */
export async function main(argv: readonly string[], io: Io = processIo, prefetch?: Prefetch): Promise<number> {
  const state: State = { code: 0, debug: argv.includes('--debug'), prefetch };
  try {
    const program = createProgram(io, state);
    await program.parseAsync([...argv], { from: 'user' });
    return state.code;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    if (error instanceof InputError) {
      io.err(`fdleak: ${error.message}\n`);
      if (state.debug) io.err(`${error.stack}\n`);
      return 2;
    }
    io.err(`fdleak: internal error: ${error instanceof Error ? error.message : String(error)} (rerun with --debug for details)\n`);
    if (state.debug && error instanceof Error) io.err(`${error.stack}\n`);
    return 2;
  }
}
