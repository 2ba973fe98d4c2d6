/**
 * The one table of fdleak's commands, arguments and options. commander builds the program from it
 * (program.ts), and the start-up prefetch reads argv with it before commander is even loaded
 * (prefetch.ts, parseArgv below): an option added here is known to both, with nothing to teach the
 * prefetch. Also the value parsers the commands share. No commander import here: prefetch.js loads
 * this module first, and it must stay cheap.
 */
import { InputError } from '../errors.js';
import type { Severity } from '../model/finding.js';
import type { AnalyzeCliOptions } from './analyze-action.js';
import type { ScanCliOptions } from './scan-action.js';

/** One option, in commander's syntax: "--top <n>" takes a value, "--json" does not. */
export interface OptionSpec {
  flags: string;
  description: string;
  default?: string;
  choices?: readonly string[];
  /** Not shown in --help (test and capture helpers). */
  hidden?: boolean;
  /** May be given several times; the values are collected in order (the prefetch keeps the last). */
  repeatable?: boolean;
}

/** One command: its positional arguments (commander syntax: "<pid>", "[files...]") and options. */
export interface CommandSpec {
  args: readonly string[];
  options: readonly OptionSpec[];
}

/** Options of the program itself, accepted before or after the command. */
export const GLOBAL_OPTIONS: readonly OptionSpec[] = [
  { flags: '--debug', description: 'print stack traces of internal errors' },
];

/** Handled by commander itself: argv holding one of these is not a run to prefetch for. */
const HELP_AND_VERSION = new Set(['-h', '--help', '-V', '--version']);

const json = (schema: string): OptionSpec => ({ flags: '--json', description: `print JSON (schema ${schema})` });
const FAIL_ON: OptionSpec = {
  flags: '--fail-on <severity>', description: 'exit 1 when a finding is at or above: critical, warning, info, never', default: 'warning',
};
const PROC_ROOT: OptionSpec = {
  flags: '--proc-root <dir>', description: 'read this /proc tree instead of /proc (tests, captured trees)', default: '/proc', hidden: true,
};

/** Thresholds a user sets (rules/config.ts): every command that runs or lists rules takes them. */
const RULE_CONFIG: readonly OptionSpec[] = [
  { flags: '--set <rule.threshold=value>', description: 'set a rule threshold (close-wait.min=5) or turn a rule off (time-wait=off); repeatable', repeatable: true },
  { flags: '--config <file>', description: 'rule thresholds from this JSON file (default: fdleak.config.json in the working directory, if any)' },
];

export const COMMANDS = {
  diagnose: {
    args: ['<pid>'],
    options: [
      json('fdleak/diagnose@1'), FAIL_ON,
      { flags: '--sample <duration>', description: 'read the process twice this far apart (500ms, 2s, 1m) and judge fd growth too' },
      ...RULE_CONFIG, PROC_ROOT,
    ],
  },
  scan: {
    args: [],
    options: [
      json('fdleak/scan@1'),
      { flags: '--prometheus', description: 'print Prometheus text exposition (node_exporter textfile collector)' },
      { flags: '--top <n>', description: 'rows to show (default: 20 in the table, every process in --json/--prometheus)' },
      { flags: '--sort <key>', description: 'rank by (headroom: closest to its fd limit first; growth: fds per second, needs --sample)', choices: ['fds', 'sockets', 'orphans', 'headroom', 'growth'], default: 'fds' },
      { flags: '--sample <duration>', description: 'read the whole box twice this far apart (500ms, 2s, 1m): fd growth per second per process, and fd-growth findings' },
      { flags: '--group <by>', description: 'sum processes by where they live (table and --json)', choices: ['unit', 'container'] },
      ...RULE_CONFIG, PROC_ROOT,
    ],
  },
  analyze: {
    args: ['[files...]'],
    options: [
      { flags: '--format <format>', description: 'input format', choices: ['auto', 'lsof', 'lsof-F', 'ss', 'netstat', 'proc-net'], default: 'auto' },
      { flags: '--state <state>', description: 'state of rows printed without one (ss ... state close-wait drops the State column)' },
      { flags: '--port-range <A-B>', description: 'net.ipv4.ip_local_port_range of the captured box (e.g. 32768-60999)' },
      { flags: '--fd-limit <n>', description: 'soft RLIMIT_NOFILE of the captured processes' },
      { flags: '--somaxconn <n>', description: 'net.core.somaxconn of the captured box' },
      json('fdleak/analyze@1'),
      FAIL_ON,
      ...RULE_CONFIG,
    ],
  },
  watch: {
    args: ['<pid>'],
    options: [
      { flags: '--interval <duration>', description: 'time between samples (500ms, 2s, 1m)', default: '2s' },
      { flags: '--duration <duration>', description: 'stop after this long (Ctrl-C stops earlier and still reports)', default: '1m' },
      json('fdleak/watch@1'), FAIL_ON, PROC_ROOT,
    ],
  },
  snapshot: {
    args: ['<pid...>'],
    options: [{ flags: '-o, --output <file>', description: 'write here ("-": stdout, the default)' }, PROC_ROOT],
  },
  diff: {
    args: ['<a>', '<b>'],
    options: [json('fdleak/diff@1'), FAIL_ON],
  },
  trace: {
    args: ['[target...]'],
    options: [
      { flags: '--duration <duration>', description: 'window length (attach: default 30s; a launched command: until it exits)' },
      json('fdleak/trace@1'),
      { flags: '--top <n>', description: 'stacks to show', default: '20' },
    ],
  },
  rules: {
    args: [],
    options: [{ flags: '--json', description: 'print JSON' }, ...RULE_CONFIG],
  },
} as const satisfies Record<string, CommandSpec>;

export type CommandName = keyof typeof COMMANDS;

/** "--fail-on <severity>" -> "--fail-on". */
export function optionName(spec: OptionSpec): string {
  return spec.flags.split(/[ ,]+/).find((f) => f.startsWith('--')) ?? spec.flags.split(/[ ,]+/)[0]!;
}

/** Whether the option takes a value: "required" after "<x>", "optional" after "[x]". */
function valueOf(spec: OptionSpec): 'none' | 'required' | 'optional' {
  return spec.flags.includes('<') ? 'required' : spec.flags.includes('[') ? 'optional' : 'none';
}

/** A command line as commander will read it: the command, its positional arguments, option values (defaults filled in). */
export interface ParsedArgv {
  command: CommandName;
  args: string[];
  options: Map<string, string | true | string[]>;
}

/**
 * Reads argv with the table, the way commander will, for the start-up prefetch: undefined for
 * anything commander would not run as a command (help, version, an unknown command or option, a
 * missing value, too many arguments). Only a guess for a head start: commander still parses argv,
 * and what was prefetched is used only if it matches what commander parsed.
 */
export function parseArgv(argv: readonly string[]): ParsedArgv | undefined {
  let command: CommandName | undefined;
  let specs: readonly OptionSpec[] = GLOBAL_OPTIONS;
  const args: string[] = [];
  const options = new Map<string, string | true | string[]>();
  const put = (spec: OptionSpec, value: string): void => {
    const prior = options.get(optionName(spec));
    options.set(optionName(spec), spec.repeatable === true ? [...(Array.isArray(prior) ? prior : []), value] : value);
  };
  let dashDash = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (dashDash || !a.startsWith('-') || a === '-') {
      if (command === undefined) {
        if (!Object.hasOwn(COMMANDS, a)) return undefined;
        command = a as CommandName;
        specs = [...GLOBAL_OPTIONS, ...(COMMANDS[command].options as readonly OptionSpec[])];
        for (const spec of COMMANDS[command].options as readonly OptionSpec[]) if (spec.default !== undefined) options.set(optionName(spec), spec.default);
      } else {
        args.push(a);
      }
      continue;
    }
    if (a === '--') { dashDash = true; continue; }
    if (HELP_AND_VERSION.has(a)) return undefined;
    const eq = a.indexOf('=');
    const name = a.startsWith('--') && eq > 0 ? a.slice(0, eq) : a;
    const spec = specs.find((s) => s.flags.split(/[ ,]+/).includes(name));
    if (spec === undefined) return undefined;
    const takes = valueOf(spec);
    if (name !== a) {
      if (takes === 'none') return undefined;
      put(spec, a.slice(eq + 1));
    } else if (takes === 'required') {
      if (i + 1 >= argv.length) return undefined;
      put(spec, argv[++i]!);
    } else if (takes === 'optional' && i + 1 < argv.length && !argv[i + 1]!.startsWith('-')) {
      put(spec, argv[++i]!);
    } else {
      options.set(optionName(spec), true);
    }
  }
  if (command === undefined) return undefined;
  const declared = COMMANDS[command].args as readonly string[];
  const variadic = declared.some((d) => d.endsWith('...]') || d.endsWith('...>'));
  const required = declared.filter((d) => d.startsWith('<')).length;
  if (args.length < required || (!variadic && args.length > declared.length)) return undefined;
  return { command, args, options };
}

/** A plain `diagnose <pid>`: its pid text, the options object commander's action gets, and --debug. */
export interface DiagnoseCall {
  pidText: string;
  opts: { failOn: string; procRoot: string; json?: boolean; sample?: string; set?: string[]; config?: string };
  debug: boolean;
}

/** A plain `scan`: the options object commander's action gets, and --debug. */
export interface ScanCall {
  opts: ScanCliOptions;
  debug: boolean;
}

/**
 * argv read with the table, for main.ts to run a plain `diagnose <pid>` without commander: the
 * options object as commander builds it (keys camelCased, "--fail-on" -> failOn; defaults filled in;
 * repeatable ones as arrays), or undefined for anything else (another command, help, version, an
 * unknown option, a value outside its choices, a missing or extra argument): commander reads those.
 */
export function diagnoseCall(argv: readonly string[]): DiagnoseCall | undefined {
  const call = plainCall(argv, 'diagnose');
  return call === undefined ? undefined : { pidText: call.args[0]!, opts: call.opts as unknown as DiagnoseCall['opts'], debug: call.debug };
}

/** The same for a plain `scan` (main.ts runs it without commander too): undefined for anything else. */
export function scanCall(argv: readonly string[]): ScanCall | undefined {
  const call = plainCall(argv, 'scan');
  return call === undefined ? undefined : { opts: call.opts as unknown as ScanCall['opts'], debug: call.debug };
}

/** A plain `analyze [files...]`: its files, the options object commander's action gets, and --debug. */
export interface AnalyzeCall {
  files: string[];
  opts: AnalyzeCliOptions;
  debug: boolean;
}

/** The same for a plain `analyze` (main.ts runs it without commander too): undefined for anything else. */
export function analyzeCall(argv: readonly string[]): AnalyzeCall | undefined {
  const call = plainCall(argv, 'analyze');
  return call === undefined ? undefined : { files: call.args, opts: call.opts as unknown as AnalyzeCall['opts'], debug: call.debug };
}

/** argv of `command` read with the table into commander's options object; undefined for anything commander must read. */
function plainCall(argv: readonly string[], command: CommandName): { args: string[]; opts: Record<string, string | true | string[]>; debug: boolean } | undefined {
  const parsed = parseArgv(argv);
  if (parsed?.command !== command) return undefined;
  const opts: Record<string, string | true | string[]> = {};
  for (const spec of COMMANDS[command].options as readonly OptionSpec[]) {
    const value = parsed.options.get(optionName(spec));
    if (value === undefined) continue;
    if (spec.choices !== undefined && !spec.choices.includes(String(value))) return undefined;
    opts[optionName(spec).slice(2).replace(/-(\w)/g, (_, c: string) => c.toUpperCase())] = value;
  }
  return { args: parsed.args, opts, debug: parsed.options.has('--debug') };
}

/** "--fail-on" value: a severity or "never". */
export function parseFailOn(value: string): Severity | 'never' {
  if (value === 'critical' || value === 'warning' || value === 'info' || value === 'never') return value;
  throw new InputError(`expected critical, warning, info or never, found "${value}"`, { source: '--fail-on' });
}

/** A process id argument: a positive decimal number. */
export function parsePid(value: string, source = '<pid>'): number {
  if (!/^\d+$/.test(value) || Number(value) <= 0 || Number(value) > 4_194_304) {
    throw new InputError(`expected a process id (a positive number), found "${value}"`, { source });
  }
  return Number(value);
}

/** A positive whole number option such as --top. */
export function parseCount(value: string, source: string): number {
  if (!/^\d+$/.test(value) || Number(value) <= 0) throw new InputError(`expected a positive whole number, found "${value}"`, { source });
  return Number(value);
}
