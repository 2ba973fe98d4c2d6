import { InputError } from '../errors.js';
import type { Severity } from '../model/finding.js';

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
