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

/**
 * The process's own streams and environment, each looked at when asked, not when this module loads:
 * the start-up snapshot (snapshot.ts) evaluates this module when it is built, and what it holds is
 * what every run starts with (a terminal and an environment read then would be the build's). Also,
 * process.stdin is a stream made on first use: a run that never reads it never makes it.
 */
export const processIo: Io = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
  get isTTY() {
    return process.stdout.isTTY === true;
  },
  get env() {
    return process.env;
  },
  get stdin() {
    return process.stdin;
  },
  get stdinIsTTY() {
    return process.stdin.isTTY === true;
  },
};

/** Colour follows the terminal; NO_COLOR turns it off, FORCE_COLOR (not "0") on. */
export function useColor(io: Io): boolean {
  const force = io.env.FORCE_COLOR;
  if (force !== undefined && force !== '' && force !== '0' && force !== 'false') return true;
  if (io.env.NO_COLOR !== undefined && io.env.NO_COLOR !== '') return false;
  return io.isTTY;
}
