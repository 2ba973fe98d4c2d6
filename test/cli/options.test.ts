/**
 * The option table is read twice: by commander (program.ts builds the program from it) and, before
 * commander is loaded, by parseArgv for the start-up prefetch. The two must agree: every form
 * commander accepts for `diagnose <pid>` gives parseArgv the same pid and --proc-root, whatever
 * options the table holds (the cases are made from the table, so a new option needs no new case),
 * and what commander refuses parseArgv gives up on.
 */
import { describe, expect, it } from 'vitest';
import { COMMANDS, GLOBAL_OPTIONS, optionName, parseArgv } from '../../src/cli/options.js';
import type { OptionSpec } from '../../src/cli/options.js';
import { commanderReads } from '../helpers/commander-reads.js';

/** A value the option accepts: its first choice, or a word. */
const valueFor = (spec: OptionSpec): string => spec.choices?.[0] ?? (optionName(spec) === '--proc-root' ? 'fixtures/x' : '5');
const takesValue = (spec: OptionSpec): boolean => spec.flags.includes('<');

describe('parseArgv', () => {
  it('reads every option of the table as commander does, before and after the pid, "--x v" and "--x=v"', () => {
    for (const [name, command] of Object.entries(COMMANDS)) {
      for (const spec of [...command.options, ...GLOBAL_OPTIONS] as OptionSpec[]) {
        const arg = (command.args as readonly string[]).filter((a) => a.startsWith('<')).map((_, i) => String(4113 + i)); // every required argument
        const forms = takesValue(spec)
          ? [[optionName(spec), valueFor(spec)], [`${optionName(spec)}=${valueFor(spec)}`]]
          : [[optionName(spec)]];
        for (const form of forms) {
          for (const argv of [[name, ...form, ...arg], [name, ...arg, ...form]]) {
            const ours = parseArgv(argv);
            const theirs = commanderReads(argv);
            expect(theirs, argv.join(' ')).not.toBe('refused');
            if (theirs === 'refused') continue;
            expect(ours?.command, argv.join(' ')).toBe(theirs.command);
            expect(ours?.args, argv.join(' ')).toEqual(theirs.args);
            const key = optionName(spec);
            const camel = key.slice(2).replace(/-(\w)/g, (_, c: string) => c.toUpperCase());
            if (spec !== GLOBAL_OPTIONS[0]) expect(ours?.options.get(key), argv.join(' ')).toEqual(theirs.options[camel]);
          }
        }
      }
    }
  });

  it('finds the pid and --proc-root of diagnose wherever the options are', () => {
    const target = (argv: string[]): unknown => {
      const p = parseArgv(argv);
      return p === undefined ? undefined : [p.command, p.args, p.options.get('--proc-root')];
    };
    expect(target(['diagnose', '4113'])).toEqual(['diagnose', ['4113'], '/proc']);
    expect(target(['--debug', 'diagnose', '--json', '4113'])).toEqual(['diagnose', ['4113'], '/proc']);
    expect(target(['diagnose', '--fail-on', 'critical', '4113', '--json'])).toEqual(['diagnose', ['4113'], '/proc']);
    expect(target(['diagnose', '11400', '--proc-root', 'fixtures/x'])).toEqual(['diagnose', ['11400'], 'fixtures/x']);
    expect(target(['diagnose', '--proc-root=/tmp/p', '7'])).toEqual(['diagnose', ['7'], '/tmp/p']);
    expect(target(['diagnose', '--', '7'])).toEqual(['diagnose', ['7'], '/proc']);
  });

  it('gives up where commander refuses or does something else (help, version)', () => {
    for (const argv of [[], ['--version'], ['-V'], ['nope'], ['analyze', '--bogus'], ['diagnose'], ['diagnose', '1', '2'],
      ['--help', 'diagnose', '1'], ['diagnose', '1', '-h'], ['diagnose', '--fail-on'], ['diagnose', '--json=yes', '1'], ['scan', 'extra']]) {
      expect(parseArgv(argv), argv.join(' ')).toBeUndefined();
      if (argv.includes('--help') || argv.includes('-h') || argv.includes('--version') || argv.includes('-V')) continue;
      expect(commanderReads(argv), argv.join(' ')).toBe('refused');
    }
  });
});
