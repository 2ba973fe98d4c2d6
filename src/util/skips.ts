import { InputError } from '../errors.js';

/** A line of captured text that a lenient parser passed over, and why. */
export interface SkippedLine {
  source: string;
  line: number;
  reason: string;
  text: string;
}

/**
 * How a parser treats a bad line: strict (live kernel text: throw an InputError at once) or
 * lenient (captured text: count it; the caller decides if too much was skipped).
 */
export class LineSink {
  readonly skipped: SkippedLine[] = [];
  constructor(readonly strict: boolean) {}

  /** Reports a bad line: throws when strict, records it otherwise. */
  bad(reason: string, source: string, line: number, text: string): void {
    if (this.strict) throw new InputError(reason, { source, line, text });
    if (this.skipped.length < 10_000) this.skipped.push({ source, line, reason, text: text.slice(0, 200) });
    else this.overflow++;
  }
  overflow = 0;

  get count(): number {
    return this.skipped.length + this.overflow;
  }
}

export const STRICT = (): LineSink => new LineSink(true);
