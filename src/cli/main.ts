import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { InputError } from '../errors.js';
import type { Io } from './io.js';
import { processIo } from './io.js';
import { parseFailOn, parsePid } from './options.js';
import type { Prefetch } from './prefetch.js';
import { parseDuration } from '../util/duration.js';
import type { RuleConfigOptions } from './rule-options.js';
import { addRuleConfigOptions, ruleConfigFrom } from './rule-options.js';

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
  $ fdleak watch 4113 --duration 5m   is its fd count rising, and how fast?
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

  // Rule thresholds (--set, --config) of the commands that run rules: rule-options.ts, rules/config.ts.
  const withRuleConfig = addRuleConfigOptions;

  withRuleConfig(program
    .command('diagnose')
    .description('diagnose one live process: fds by kind, sockets by state, ranked findings')
    .argument('<pid>', 'process id')
    .option('--json', 'print JSON (schema fdleak/diagnose@1)')
    .addOption(failOn())
    .option('--sample <duration>', 'read the process twice this far apart (500ms, 2s, 1m) and add fd-growth')
    .addOption(new Option('--proc-root <dir>', 'read this /proc tree instead of /proc (tests, captured trees)').default('/proc').hideHelp())
    .addHelpText('after', '\nExamples:\n  $ fdleak diagnose 4113\n  $ fdleak diagnose 4113 --sample 10s      is the fd count rising?\n  $ fdleak diagnose $(pgrep -o nginx) --json --fail-on critical')
    .action(async (pidText: string, opts: { json?: boolean; failOn: string; procRoot: string; sample?: string } & RuleConfigOptions) => {
      const pid = parsePid(pidText);
      const sampleMs = opts.sample === undefined ? undefined : parseDuration(opts.sample, '--sample');
      const rules = await ruleConfigFrom(opts);
      const { diagnose } = await import('./commands/diagnose.js');
      state.code = await diagnose(pid, { json: opts.json === true, failOn: parseFailOn(opts.failOn), procRoot: opts.procRoot, version: version(), prefetch: state.prefetch?.procPid, debug: state.debug, sampleMs, rules }, io);
    }));

  withRuleConfig(program
    .command('scan')
    .description('every process ranked by open fds, with sockets, orphan sockets and limit headroom')
    .option('--json', 'print JSON (schema fdleak/scan@1)')
    .option('--prometheus', 'print Prometheus text exposition (node_exporter textfile collector)')
    .option('--top <n>', 'rows to show (default: 20 in the table, every process in --json/--prometheus)')
    .addOption(new Option('--sort <key>', 'rank by (headroom: closest to its fd limit first)').choices(['fds', 'sockets', 'orphans', 'headroom']).default('fds'))
    .addOption(new Option('--proc-root <dir>', 'read this /proc tree instead of /proc (tests, captured trees)').default('/proc').hideHelp())
    .addHelpText('after', '\nExamples:\n  $ fdleak scan --top 10\n  $ fdleak scan --sort orphans\n  $ fdleak scan --json | jq \'.processes[] | select(.limitUsed > 0.8)\'\n  $ fdleak scan --prometheus > /var/lib/node_exporter/textfile/fdleak.prom.$$ && mv /var/lib/node_exporter/textfile/fdleak.prom.$$ /var/lib/node_exporter/textfile/fdleak.prom')
    .action(async (opts: { json?: boolean; prometheus?: boolean; top?: string; sort: string; procRoot: string } & RuleConfigOptions) => {
      if (opts.json === true && opts.prometheus === true) throw new InputError('choose one of --json and --prometheus', { source: 'scan' });
      await ruleConfigFrom(opts); // validated: scan lists, it runs no rule yet
      const { scan } = await import('./commands/scan.js');
      const format = opts.json === true ? 'json' : opts.prometheus === true ? 'prometheus' : 'table';
      state.code = await scan({ format, top: opts.top, sort: opts.sort as 'fds', procRoot: opts.procRoot, helper: state.prefetch?.scanHelper, debug: state.debug }, io);
    }));

  withRuleConfig(program
    .command('analyze')
    .description('diagnose captured lsof, lsof -F, ss, netstat or /proc/net text from files or stdin')
    .argument('[files...]', 'captures to read together ("-" or none: stdin)')
    .addOption(new Option('--format <format>', 'input format').choices(['auto', 'lsof', 'lsof-F', 'ss', 'netstat', 'proc-net']).default('auto'))
    .option('--json', 'print JSON (schema fdleak/analyze@1)')
    .addOption(failOn())
    .addHelpText('after', '\nExamples:\n  $ lsof -n | fdleak analyze\n  $ ss -tanp | fdleak analyze -\n  $ fdleak analyze lsof.txt ss.txt --json     (taken at the same moment: merged)')
    .action(async (files: string[], opts: { json?: boolean; format: string; failOn: string } & RuleConfigOptions) => {
      const failOnValue = parseFailOn(opts.failOn);
      const rules = await ruleConfigFrom(opts);
      if (files.length === 0 && io.stdinIsTTY) {
        throw new InputError('no input: give capture files, or pipe text in (lsof -n | fdleak analyze)', { source: 'analyze' });
      }
      const { analyze } = await import('./commands/analyze.js');
      const format = opts.format === 'auto' ? undefined : (opts.format as 'lsof');
      state.code = await analyze(files, { json: opts.json === true, format, failOn: failOnValue, version: version(), rules }, io);
    }));

  // --- leaks over time: watch, snapshot, diff (src/cli/commands/{watch,snapshot,diff}.ts) ---
  program
    .command('watch')
    .description('sample one process over time: growth rate, what grows, time left to the fd limit')
    .argument('<pid>', 'process id')
    .option('--interval <duration>', 'time between samples (500ms, 2s, 1m)', '2s')
    .option('--duration <duration>', 'stop after this long (Ctrl-C stops earlier and still reports)', '1m')
    .option('--json', 'print one JSON document at the end (schema fdleak/watch@1)')
    .addOption(failOn())
    .addOption(new Option('--proc-root <dir>', 'read this /proc tree instead of /proc (tests, captured trees)').default('/proc').hideHelp())
    .addHelpText('after', '\nExamples:\n  $ fdleak watch 4113\n  $ fdleak watch 4113 --interval 10s --duration 1h --json > watch.json')
    .action(async (pidText: string, opts: { interval: string; duration: string; json?: boolean; failOn: string; procRoot: string }) => {
      // Run as the CLI (process io), the command started with the process: performance.now() counts
      // from there, so `--duration 5s` ends 5 s after it was typed, start-up included.
      const startedAt = io === processIo ? 0 : performance.now();
      const pid = parsePid(pidText);
      const intervalMs = parseDuration(opts.interval, '--interval');
      const durationMs = parseDuration(opts.duration, '--duration');
      const failOnValue = parseFailOn(opts.failOn);
      const { watch } = await import('./commands/watch.js');
      state.code = await watch(pid, { intervalMs, durationMs, json: opts.json === true, failOn: failOnValue, procRoot: opts.procRoot, version: version(), startedAt }, io);
    });

  program
    .command('snapshot')
    .description('save processes\' fds, sockets and limits to a file (schema fdleak/snapshot@1) for fdleak diff')
    .argument('<pid...>', 'process ids')
    .option('-o, --output <file>', 'write here ("-": stdout, the default)')
    .addOption(new Option('--proc-root <dir>', 'read this /proc tree instead of /proc (tests, captured trees)').default('/proc').hideHelp())
    .addHelpText('after', '\nExamples:\n  $ fdleak snapshot 4113 -o before.json; sleep 60; fdleak snapshot 4113 -o after.json\n  $ fdleak diff before.json after.json')
    .action(async (pidTexts: string[], opts: { output?: string; procRoot: string }) => {
      const pids = pidTexts.map((p) => parsePid(p));
      const { snapshot } = await import('./commands/snapshot.js');
      state.code = await snapshot(pids, opts.output, opts.procRoot, io);
    });

  program
    .command('diff')
    .description('compare two snapshot files: fds that appeared and vanished per process, and fd-growth')
    .argument('<a>', 'the earlier snapshot file')
    .argument('<b>', 'the later snapshot file')
    .option('--json', 'print JSON (schema fdleak/diff@1)')
    .addOption(failOn())
    .action(async (a: string, b: string, opts: { json?: boolean; failOn: string }) => {
      const failOnValue = parseFailOn(opts.failOn);
      const { diff } = await import('./commands/diff.js');
      state.code = await diff(a, b, { json: opts.json === true, failOn: failOnValue, version: version() }, io);
    });
  // --- end of leaks over time ---

  // trace: a self-contained block (issue 13)
  const TRACE_HELP = `
Attaches strace (-f -k, by absolute path) to the process and all its threads, or starts the command
under it following its children, for the window; then reports the fds opened and never closed,
grouped by the call stack that opened them (file:line from addr2line when the binary has debug
info), with the churn beside each stack and the socket states read from /proc at the end.
The tracee is always left running and detached (at the window's end, on Ctrl-C or SIGTERM, and if
fdleak is killed: strace runs under setpriv --pdeathsig). A launched command gets SIGTERM when the
window ends before it exits; its output goes to stderr.

Overhead is large: every fd syscall of the tracee stops it while strace unwinds its stack. Measured
(bench/trace.mjs: loopback HTTP, a new connection per request, 2-core VM, median of 3 x 5 s): a C
server fell from 4010 to 311 requests/s (0.08x), a node server from 3454 to 35 (0.01x); a loop of
open+close reached ~800 pairs/s. Trace production processes briefly, at a quiet moment.

Examples:
  $ fdleak trace 4113 --duration 30s
  $ fdleak trace --duration 10s --json -- ./server --port 8080
  $ fdleak trace -- python3 worker.py`;
  program
    .command('trace')
    .description('follow fd-creating and closing syscalls; report fds opened and never closed, by the call stack that opened them')
    .argument('[target...]', '<pid>, or after --: a command and its arguments')
    .option('--duration <duration>', 'window length (attach: default 30s; a launched command: until it exits)')
    .option('--json', 'print JSON (schema fdleak/trace@1)')
    .option('--top <n>', 'stacks to show', '20')
    .addHelpText('after', TRACE_HELP)
    .action(async (targetArgs: string[], opts: { duration?: string; json?: boolean; top: string }) => {
      const raw = (program as unknown as { rawArgs: string[] }).rawArgs; // commander keeps it, untyped: `--` tells pid from command
      const dashes = raw.indexOf('--');
      const { parseDuration } = await import('../util/duration.js');
      const { parseCount } = await import('./options.js');
      const durationMs = opts.duration === undefined ? undefined : parseDuration(opts.duration, '--duration');
      let target: { pid: number } | { argv: string[] };
      if (dashes >= 0) {
        const argv = raw.slice(dashes + 1);
        if (argv.length === 0) throw new InputError('no command after --', { source: 'trace' });
        target = { argv };
      } else {
        if (targetArgs.length !== 1) throw new InputError('give one pid, or a command after -- (fdleak trace -- ./server)', { source: 'trace' });
        target = { pid: parsePid(targetArgs[0]!) };
      }
      const { trace } = await import('./commands/trace.js');
      state.code = await trace(target, {
        json: opts.json === true, durationMs: durationMs ?? ('pid' in target ? 30_000 : undefined),
        top: parseCount(opts.top, '--top'), version: version(), debug: state.debug,
      }, io);
    });

  withRuleConfig(program
    .command('rules')
    .description('list the rules with their severity and thresholds: effective values and where each came from')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean } & RuleConfigOptions) => {
      const rules = await ruleConfigFrom(opts);
      const { listRules } = await import('./commands/rules.js');
      state.code = listRules(opts.json === true, io, rules);
    }));

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
