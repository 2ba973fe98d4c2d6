/**
 * The commander program of every command, built from the option table (options.ts). Loaded by
 * main.ts for every run but a plain `diagnose <pid>` or `scan`, which main.ts runs without it (see there).
 */
import { Command, CommanderError, Option } from 'commander';
import { InputError } from '../errors.js';
import type { AnalyzeCliOptions } from './analyze-action.js';
import { analyzeAction } from './analyze-action.js';
import type { DiagnoseCliOptions, State } from './diagnose-action.js';
import { diagnoseAction } from './diagnose-action.js';
import type { Io } from './io.js';
import { processIo } from './io.js';
import type { CommandName, OptionSpec } from './options.js';
import { COMMANDS, GLOBAL_OPTIONS, parseFailOn, parsePid } from './options.js';
import type { RuleConfigOptions } from './rule-options.js';
import type { ScanCliOptions } from './scan-action.js';
import { scanAction } from './scan-action.js';
import { ruleConfigFrom } from './rule-options.js';
import { version } from './version.js';
import { parseDuration } from '../util/duration.js';

const EXAMPLES = `
Examples:
  $ fdleak diagnose 4113              why does pid 4113 hold so many fds?
  $ fdleak diagnose 4113 --json       the same, as JSON (schema fdleak/diagnose@1)
  $ fdleak scan --top 10              which processes hold the most fds and sockets
  $ lsof -n | fdleak analyze          diagnose captured text from a pipe
  $ fdleak rules                      what each rule checks, with thresholds

Exit codes: 0 no finding at or above --fail-on, 1 at least one, 2 bad usage or input.`;

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

/** commander options from the table in options.ts (what the start-up prefetch reads too). */
function addOptions(cmd: Command, specs: readonly OptionSpec[]): Command {
  for (const spec of specs) {
    const option = new Option(spec.flags, spec.description);
    if (spec.default !== undefined) option.default(spec.default);
    if (spec.choices !== undefined) option.choices(spec.choices);
    if (spec.hidden === true) option.hideHelp();
    if (spec.repeatable === true) option.argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value]);
    cmd.addOption(option);
  }
  return cmd;
}

/** A command of the table: its arguments and options; the caller adds description, help and action. */
function command(program: Command, name: CommandName, argHelp: Record<string, string> = {}): Command {
  const cmd = program.command(name);
  for (const arg of COMMANDS[name].args) cmd.argument(arg, argHelp[arg]);
  return addOptions(cmd, COMMANDS[name].options);
}

/** The commander program; each command loads its code on first use so start-up stays fast. */
export function createProgram(io: Io, state: State): Command {
  const program = new Command('fdleak')
    .description('find file-descriptor and socket leaks on Linux: which process, which sockets, why')
    .version(version(), '-V, --version')
    .addHelpText('after', EXAMPLES)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.out(s),
      writeErr: (s) => io.err(s),
      // One line: commander's message plus where to look next.
      outputError: (s, write) => write(`fdleak: ${s.replace(/^error: /, '').trimEnd()} (run fdleak --help for usage)\n`),
    });
  addOptions(program, GLOBAL_OPTIONS);
  program.hook('preAction', (cmd) => {
    state.debug = cmd.opts<{ debug?: boolean }>().debug === true;
  });

  command(program, 'diagnose', { '<pid>': 'process id' })
    .description('diagnose one live process: fds by kind, sockets by state, ranked findings')
    .addHelpText('after', '\nExamples:\n  $ fdleak diagnose 4113\n  $ fdleak diagnose 4113 --sample 10s      is the fd count rising?\n  $ fdleak diagnose $(pgrep -o nginx) --json --fail-on critical')
    .action((pidText: string, opts: DiagnoseCliOptions) => diagnoseAction(pidText, opts, io, state));

  command(program, 'scan')
    .description('every process ranked by open fds, with sockets, orphan sockets and limit headroom')
    .addHelpText('after', '\nExamples:\n  $ fdleak scan --top 10\n  $ fdleak scan --sort orphans\n  $ fdleak scan --sample 5s --sort growth     which process is leaking right now\n  $ fdleak scan --group container\n  $ fdleak scan --json | jq \'.processes[] | select(.limitUsed > 0.8)\'\n  $ fdleak scan --prometheus > /var/lib/node_exporter/textfile/fdleak.prom.$$ && mv /var/lib/node_exporter/textfile/fdleak.prom.$$ /var/lib/node_exporter/textfile/fdleak.prom')
    .action((opts: ScanCliOptions) => scanAction(opts, io, state));

  command(program, 'analyze', { '[files...]': 'captures to read together ("-" or none: stdin)' })
    .description('diagnose captured lsof, lsof -F, ss, netstat or /proc/net text from files or stdin')
    .addHelpText('after', '\nExamples:\n  $ lsof -n | fdleak analyze\n  $ ss -tanp | fdleak analyze -\n  $ fdleak analyze lsof.txt ss.txt --json     (taken at the same moment: merged)\n  $ ss -tnp state close-wait | fdleak analyze --state close-wait --fd-limit 1024')
    .action((files: string[], opts: AnalyzeCliOptions) => analyzeAction(files, opts, io, state));

  command(program, 'watch', { '<pid>': 'process id' })
    .description('sample one process over time: growth rate, what grows, time left to the fd limit')
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

  command(program, 'snapshot', { '<pid...>': 'process ids' })
    .description('save processes\' fds, sockets and limits to a file (schema fdleak/snapshot@1) for fdleak diff')
    .addHelpText('after', '\nExamples:\n  $ fdleak snapshot 4113 -o before.json; sleep 60; fdleak snapshot 4113 -o after.json\n  $ fdleak diff before.json after.json')
    .action(async (pidTexts: string[], opts: { output?: string; procRoot: string }) => {
      const pids = pidTexts.map((p) => parsePid(p));
      const { snapshot } = await import('./commands/snapshot.js');
      state.code = await snapshot(pids, opts.output, opts.procRoot, io);
    });

  command(program, 'diff', { '<a>': 'the earlier snapshot file', '<b>': 'the later snapshot file' })
    .description('compare two snapshot files: fds that appeared and vanished per process, and fd-growth')
    .action(async (a: string, b: string, opts: { json?: boolean; failOn: string }) => {
      const failOnValue = parseFailOn(opts.failOn);
      const { diff } = await import('./commands/diff.js');
      state.code = await diff(a, b, { json: opts.json === true, failOn: failOnValue, version: version() }, io);
    });

  command(program, 'trace', { '[target...]': '<pid>, or after --: a command and its arguments' })
    .description('follow fd-creating and closing syscalls; report fds opened and never closed, by the call stack that opened them')
    .addHelpText('after', TRACE_HELP)
    .action(async (targetArgs: string[], opts: { duration?: string; json?: boolean; top: string }) => {
      const raw = (program as unknown as { rawArgs: string[] }).rawArgs; // commander keeps it, untyped: `--` tells pid from command
      const dashes = raw.indexOf('--');
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

  command(program, 'rules')
    .description('list the rules with their severity and thresholds: effective values and where each came from')
    .action(async (opts: { json?: boolean } & RuleConfigOptions) => {
      const rules = await ruleConfigFrom(opts);
      const { listRules } = await import('./commands/rules.js');
      state.code = listRules(opts.json === true, io, rules);
    });

  return program;
}

/**
 * Parses argv with commander and runs the command it names; returns the exit code. commander's own
 * errors (unknown option, missing argument: it printed the line) and --help/--version end here.
 */
export async function runProgram(argv: readonly string[], io: Io, state: State): Promise<number> {
  try {
    await createProgram(io, state).parseAsync([...argv], { from: 'user' });
    return state.code;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    throw error;
  }
}
