/** Where the CLI writes and what it knows of the terminal; tests pass their own. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** stdout is a terminal. */
  isTTY: boolean;
  env: Readonly<Record<string, string | undefined>>;
  /** stdin, for `analyze -`. */
  stdin: NodeJS.ReadableStream;
  /** stdin is a terminal (nothing piped in). */
  stdinIsTTY: boolean;
}

export const processIo: Io = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
  isTTY: process.stdout.isTTY === true,
  env: process.env,
  stdin: process.stdin,
  stdinIsTTY: process.stdin.isTTY === true,
};

/** Colour follows the terminal; NO_COLOR turns it off, FORCE_COLOR (not "0") on. */
export function useColor(io: Io): boolean {
  const force = io.env.FORCE_COLOR;
  if (force !== undefined && force !== '' && force !== '0' && force !== 'false') return true;
  if (io.env.NO_COLOR !== undefined && io.env.NO_COLOR !== '') return false;
  return io.isTTY;
}
