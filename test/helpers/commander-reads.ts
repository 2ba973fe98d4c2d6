/** What commander makes of an argv, with every command's action replaced by a recorder. */
import { Command, CommanderError } from 'commander';
import type { Io } from '../../src/cli/io.js';
import { createProgram } from '../../src/cli/program.js';

const quietIo: Io = { out: () => {}, err: () => {}, isTTY: false, env: {}, stdin: process.stdin, stdinIsTTY: true };

export interface CommanderRead {
  command: string;
  args: string[];
  options: Record<string, unknown>;
  /** The program's own options (--debug). */
  globals: Record<string, unknown>;
}

/** The command commander runs for `argv`, its arguments and option values; or 'refused' (an error, help, version). */
export function commanderReads(argv: readonly string[]): CommanderRead | 'refused' {
  const program = createProgram(quietIo, { code: 0, debug: false });
  let seen: CommanderRead | undefined;
  for (const cmd of program.commands) {
    cmd.action((...params: unknown[]) => {
      const self = params[params.length - 1] as Command;
      seen = { command: self.name(), args: self.args, options: self.opts(), globals: program.opts() };
    });
  }
  try {
    program.parse([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) return 'refused';
    throw error;
  }
  return seen ?? 'refused';
}
