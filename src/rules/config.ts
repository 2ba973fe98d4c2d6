/**
 * Thresholds a user sets, as ESLint users set rule options: a config file and `--set`, validated
 * against the rules' own defaults (an unknown rule or threshold, or a bad value, is an InputError:
 * one line, exit 2). Precedence: default < config file < --set.
 *
 *   fdleak.config.json (the working directory) or --config FILE:
 *     { "rules": { "close-wait": { "min": 5 }, "time-wait": "off", "deleted-files": { "min": 1 } } }
 *   --set close-wait.min=5     one threshold (repeatable)
 *   --set time-wait=off        a rule off ("on" turns it back on; close-wait.off=true works too)
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { errnoOf, InputError } from '../errors.js';
import type { Rule, Thresholds } from './rule.js';
import type { EngineOptions } from './engine.js';
import { RULES } from './index.js';

export const CONFIG_FILE = 'fdleak.config.json';

/** Where a value came from: "default", the config file's path, or "--set". */
export type Origin = string;

export interface RuleConfig {
  /** Overrides only (what differs from the defaults), per rule. */
  thresholds: Record<string, Partial<Thresholds>>;
  /** Rules turned off, with where. */
  off: Map<string, Origin>;
  /** "rule.key" -> where its value came from (absent: default). */
  origins: Map<string, Origin>;
}

export interface RuleConfigInput {
  /** --set values, in order. */
  sets?: readonly string[];
  /** --config FILE; without it, fdleak.config.json in `cwd` when it exists. */
  configPath?: string;
  cwd?: string;
  rules?: ReadonlyArray<Rule>;
}

const UNKNOWN_RULE = (id: string): string => `unknown rule "${id}" (run \`fdleak rules\` for the list)`;

/** Reads the config file (if any) and the --set values into one validated configuration. */
export function loadRuleConfig(input: RuleConfigInput = {}): RuleConfig {
  const rules = input.rules ?? RULES;
  const config: RuleConfig = { thresholds: {}, off: new Map(), origins: new Map() };
  const path = input.configPath ?? join(input.cwd ?? process.cwd(), CONFIG_FILE);
  const text = readConfigText(path, input.configPath !== undefined);
  if (text !== null) applyFile(config, rules, text, input.configPath ?? CONFIG_FILE);
  for (const set of input.sets ?? []) applySet(config, rules, set);
  return config;
}

function readConfigText(path: string, required: boolean): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = errnoOf(error);
    if (code === 'ENOENT' && !required) return null;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : String((error as Error).message);
    throw new InputError(`cannot read the config file: ${why}`, { source: path });
  }
}

function ruleOf(rules: ReadonlyArray<Rule>, id: string, source: string): Rule {
  const rule = rules.find((r) => r.id === id);
  if (rule === undefined) throw new InputError(UNKNOWN_RULE(id), { source });
  return rule;
}

function setThreshold(config: RuleConfig, rule: Rule, key: string, value: unknown, source: string, origin: Origin): void {
  if (key === 'off') {
    if (value === true || value === 'true') config.off.set(rule.id, origin);
    else if (value === false || value === 'false') config.off.delete(rule.id);
    else throw new InputError(`${rule.id}.off: expected true or false, found ${JSON.stringify(value)}`, { source });
    return;
  }
  if (!Object.hasOwn(rule.defaults, key)) {
    throw new InputError(`unknown threshold "${key}" of ${rule.id} (it has: ${Object.keys(rule.defaults).join(', ')}, off)`, { source });
  }
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : Number.NaN;
  if (!Number.isFinite(n) || n < 0) throw new InputError(`${rule.id}.${key}: expected a number >= 0, found ${JSON.stringify(value)}`, { source });
  (config.thresholds[rule.id] ??= {})[key] = n;
  config.origins.set(`${rule.id}.${key}`, origin);
}

function applyFile(config: RuleConfig, rules: ReadonlyArray<Rule>, text: string, source: string): void {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw new InputError(`not valid JSON: ${(error as Error).message.split('\n')[0]}`, { source });
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new InputError('expected a JSON object { "rules": { ... } }', { source });
  for (const key of Object.keys(doc)) {
    if (key !== 'rules') throw new InputError(`unknown key "${key}" (expected "rules")`, { source });
  }
  const entries = (doc as { rules?: unknown }).rules;
  if (entries === undefined) return;
  if (typeof entries !== 'object' || entries === null || Array.isArray(entries)) throw new InputError('"rules" must be an object of rule ids', { source });
  for (const [id, value] of Object.entries(entries)) {
    const rule = ruleOf(rules, id, source);
    if (value === 'off' || value === 'on') {
      setThreshold(config, rule, 'off', value === 'off', source, source);
    } else if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      for (const [key, v] of Object.entries(value)) setThreshold(config, rule, key, v, source, source);
    } else {
      throw new InputError(`${id}: expected "off", "on" or an object of thresholds, found ${JSON.stringify(value)}`, { source });
    }
  }
}

/** "close-wait.min=5", "time-wait=off". */
function applySet(config: RuleConfig, rules: ReadonlyArray<Rule>, set: string): void {
  const source = '--set';
  const eq = set.indexOf('=');
  if (eq <= 0) throw new InputError(`expected RULE.THRESHOLD=VALUE or RULE=off, found "${set}"`, { source });
  const name = set.slice(0, eq).trim();
  const value = set.slice(eq + 1).trim();
  const dot = name.indexOf('.');
  if (dot < 0) {
    const rule = ruleOf(rules, name, source);
    if (value !== 'off' && value !== 'on') throw new InputError(`${name}: expected off or on, found "${value}"`, { source });
    setThreshold(config, rule, 'off', value === 'off', source, '--set');
    return;
  }
  const rule = ruleOf(rules, name.slice(0, dot), source);
  setThreshold(config, rule, name.slice(dot + 1), value, source, '--set');
}

/** The engine's options for a configuration: the overrides, and only the rules left on. */
export function engineOptions(config: RuleConfig | undefined, rules: ReadonlyArray<Rule> = RULES): EngineOptions {
  if (config === undefined) return {};
  return {
    thresholds: config.thresholds,
    ...(config.off.size === 0 ? {} : { only: rules.filter((r) => !config.off.has(r.id)).map((r) => r.id) }),
  };
}

/** Each threshold of `rule` with its effective value and where it came from. */
export function effectiveThresholds(rule: Rule, config: RuleConfig | undefined): Array<{ key: string; value: number; default: number; origin: Origin }> {
  return Object.entries(rule.defaults).map(([key, def]) => ({
    key,
    value: config?.thresholds[rule.id]?.[key] ?? def,
    default: def,
    origin: config?.origins.get(`${rule.id}.${key}`) ?? 'default',
  }));
}
