import { safeText } from './util/safe-text.js';

/** Where a piece of input came from: a path or the command that printed it, and a 1-based line. */
export interface InputLocation {
  source: string;
  line?: number;
  text?: string;
}

/** Input fdleak cannot use: unparsable text, an invalid record, a bad flag value, a missing process. */
export class InputError extends Error {
  constructor(
    readonly what: string,
    readonly where: InputLocation,
  ) {
    const at = where.line === undefined ? where.source : `${where.source}:${where.line}`;
    // One line: the offending text, cut short, follows the message in quotes.
    const excerpt = where.text === undefined ? '' : where.text.trim().slice(0, 60);
    const shown = excerpt === '' ? '' : ` (line: "${excerpt}${where.text!.trim().length > 60 ? '...' : ''}")`;
    // Paths, names and excerpts in it are others' text: the whole line is escaped (safe-text.ts).
    super(safeText(`${at}: ${what}${shown}`));
    this.name = 'InputError';
  }
}


/** errno of a failed fs call, or undefined. */
export function errnoOf(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error
    ? String((error as { code: unknown }).code)
    : undefined;
}

/** ENOENT/ESRCH: the fd or process went away while we looked; live churn, not an error. */
export function isVanished(error: unknown): boolean {
  const code = errnoOf(error);
  return code === 'ENOENT' || code === 'ESRCH';
}

/** EACCES/EPERM: the kernel said no (ptrace access check on /proc/<pid>/fd). */
export function isDenied(error: unknown): boolean {
  const code = errnoOf(error);
  return code === 'EACCES' || code === 'EPERM';
}
