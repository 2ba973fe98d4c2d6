import { InputError } from '../errors.js';

/**
 * "500ms" | "2s" | "1.5m" | "1h" -> milliseconds, more than 0. A bad value ("2x", "-1s", "0s", "2")
 * is an InputError naming the flag.
 */
export function parseDuration(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text.trim());
  if (m === null) throw new InputError(`expected a duration such as 500ms, 2s or 1m, found "${text}"`, { source: flag });
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
  const ms = Math.round(Number(m[1]) * unit);
  if (ms <= 0) throw new InputError(`expected a duration of more than 0, found "${text}"`, { source: flag });
  if (ms > 7 * 24 * 3_600_000) throw new InputError(`expected a duration of at most a week, found "${text}"`, { source: flag });
  return ms;
}
