/**
 * `ptflow train cfg.yaml key=value …` → a validated `TrainConfig`, before any work starts:
 * read the YAML, apply the overrides (they win), reject unknown keys with a suggestion, warn once
 * for each accepted foreign key, type-check every key, then check the rules between keys.
 * Every problem is one `usageError` (exit code 2) naming the key and where it was set.
 */
import { usageError } from '../errors';
import { FOREIGN_KEYS, KEY_ALIASES, foreignKeyWarning, unsupportedKeyError } from './foreign-keys';
import { parseOverrides, type OverrideEntry } from './overrides';
import { applyRules } from './rules';
import { CONFIG_KEYS, rawConfigSchema, type TrainConfig } from './schema';
import { closest } from './suggest';
import { describeNested, describeSource, readConfigFile, type ConfigEntry, type ValueSource } from './yaml-source';

export interface LoadedConfig {
  config: TrainConfig;
  /** One line per accepted-but-ignored key, alias, or setting without effect. */
  warnings: string[];
  /** Where `key` (and, inside its value, `path`) was set: "cfg.yaml:12" or the command-line argument. */
  where(key: string, path?: readonly (string | number)[]): string;
}

const KNOWN = new Set(CONFIG_KEYS);
const SUGGESTIONS = [...CONFIG_KEYS, ...Object.keys(FOREIGN_KEYS), ...Object.keys(KEY_ALIASES)];

/** Loads `yamlPath` (relative to the current directory) and applies `overrides` (`key=value`). */
export function loadTrainConfig(yamlPath: string, overrides: readonly string[] = []): LoadedConfig {
  const fileEntries = readConfigFile(yamlPath);
  const overrideEntries = parseOverrides(overrides);
  return resolveConfig(fileEntries, overrideEntries, yamlPath);
}

interface Slot {
  value: unknown;
  source: ValueSource;
  lines?: Record<string, number>;
}

/** Validates already-read entries; `file` names the config file in messages. */
export function resolveConfig(fileEntries: readonly ConfigEntry[], overrideEntries: readonly OverrideEntry[], file: string): LoadedConfig {
  const warnings: string[] = [];
  const slots = new Map<string, Slot>();

  const place = (entry: OverrideEntry): void => {
    const where = entry.source.kind === 'file' ? `in ${describeSource(entry.source)}` : `on the command line ('${entry.source.arg}')`;
    let key = entry.key;
    const alias = KEY_ALIASES[key];
    if (alias !== undefined) {
      warnings.push(`'${key}' ${where} is the old name of '${alias}': use '${alias}'`);
      key = alias;
    }
    if (!KNOWN.has(key) && FOREIGN_KEYS[key] === undefined) {
      const guess = closest(key, SUGGESTIONS);
      const hint = guess !== undefined ? `did you mean '${KEY_ALIASES[guess] ?? guess}'?` : "see 'ptflow train --help' for the keys";
      throw usageError(`unknown key '${key}' ${where} — ${hint}`);
    }
    if (entry.subkey !== undefined) {
      const current = slots.get(key)?.value;
      const isMapping = current === undefined || current === null || (typeof current === 'object' && !Array.isArray(current));
      if (!isMapping || !(key === 'lr_scheduler_kwargs' || FOREIGN_KEYS[key] !== undefined)) {
        throw usageError(`bad argument '${(entry.source as { arg: string }).arg}' on the command line: '${key}' is not a mapping, set it with ${key}=value`);
      }
      const merged = { ...((current as Record<string, unknown> | null | undefined) ?? {}), [entry.subkey]: entry.value };
      slots.set(key, { value: merged, source: entry.source });
      return;
    }
    slots.set(key, { value: entry.value, source: entry.source, lines: entry.lines });
  };
  for (const [old, current] of Object.entries(KEY_ALIASES)) {
    const a = fileEntries.find((e) => e.key === old);
    const b = fileEntries.find((e) => e.key === current);
    if (a !== undefined && b !== undefined) {
      throw usageError(`'${old}' (${describeSource(a.source)}) and '${current}' (${describeSource(b.source)}) are the same setting: keep only '${current}'`);
    }
  }
  for (const e of fileEntries) place(e);
  for (const e of overrideEntries) place(e);

  // Foreign keys: an error for an unsupported method asked for, else one warning each.
  const input: Record<string, unknown> = {};
  const sources = new Map<string, ValueSource>();
  for (const [key, slot] of slots) {
    if (KNOWN.has(key)) {
      input[key] = slot.value;
      sources.set(key, slot.source);
      continue;
    }
    const where = describeSource(slot.source);
    const error = unsupportedKeyError(key, slot.value, where);
    if (error !== undefined) throw usageError(error);
    const warning = foreignKeyWarning(key, slot.value, where);
    if (warning !== undefined) warnings.push(warning);
  }

  const parsed = rawConfigSchema.safeParse(input);
  if (!parsed.success) {
    // Report the issue of the key set first (file order, then command line).
    const order = [...slots.keys()];
    const issue = [...parsed.error.issues].sort((a, b) => order.indexOf(String(a.path[0])) - order.indexOf(String(b.path[0])))[0];
    const key = String(issue.path[0]);
    const slot = slots.get(key);
    const inner = issue.path.slice(1) as (string | number)[];
    // An unknown key inside a list item or mapping: point at that key's line.
    const located = issue.code === 'unrecognized_keys' && issue.keys.length > 0 ? [...inner, issue.keys[0]] : inner;
    const where = slot !== undefined ? describeNested(slot, located) : file;
    const item = inner.length > 0 ? ` (item ${inner.join('.')})` : '';
    throw usageError(`${where}: '${key}'${item} ${issue.message}, got ${showGot(valueAt(slot?.value, inner))}`);
  }

  const settled = applyRules(parsed.data, sources, file);
  const where = (key: string, path: readonly (string | number)[] = []): string => {
    const slot = slots.get(key);
    return slot === undefined ? file : describeNested(slot, path);
  };
  return { config: settled.config, warnings: [...warnings, ...settled.warnings], where };
}

/** The value at `path` inside `value` (the whole value where the path does not lead anywhere). */
function valueAt(value: unknown, path: readonly (string | number)[]): unknown {
  let v = value;
  for (const k of path) {
    if (v === null || typeof v !== 'object' || !(k in (v as object))) return value;
    v = (v as Record<string | number, unknown>)[k];
  }
  return v;
}

/** A rejected value for the message: text quoted, everything else as JSON. */
function showGot(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (value === undefined) return 'nothing';
  if (typeof value === 'number') return String(value);
  return JSON.stringify(value);
}
