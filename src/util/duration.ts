import { InputError } from '../errors.js';

/** "500ms" | "2s" | "1m" | "1h" -> milliseconds; a bad value is an InputError naming the flag. */
export function parseDuration(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text.trim());
  if (m === null) throw new InputError(`expected a duration such as 500ms, 2s or 1m, found "${text}"`, { source: flag });
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
  return Math.round(Number(m[1]) * unit);
}
