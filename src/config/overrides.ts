/**
 * Command-line overrides `key=value`, as `llamafactory-cli train cfg.yaml key=value` takes them
 * (OmegaConf `from_cli`): the value is read as a YAML scalar, so `max_steps=10` is a number,
 * `packing=false` a boolean, `dataset=a,b` text and `lr_scheduler_kwargs={num_cycles: 0.5}` a
 * mapping. `key.sub=value` sets one entry of a mapping key. A leading `--` is tolerated.
 */
import { parse } from 'yaml';
import { usageError } from '../errors';
import type { ConfigEntry } from './yaml-source';

/** An override entry; `subkey` is set for `key.sub=value`. */
export interface OverrideEntry extends ConfigEntry {
  subkey?: string;
}

const KEY = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/;

/** Reads one override value the way YAML reads a scalar; text that is not valid YAML stays text. */
export function parseOverrideValue(text: string): unknown {
  if (text.trim() === '') return null;
  try {
    return parse(text) as unknown;
  } catch {
    return text;
  }
}

/** Parses `key=value` arguments in order; a later one for the same key wins. */
export function parseOverrides(args: readonly string[]): OverrideEntry[] {
  return args.map((arg) => {
    const eq = arg.indexOf('=');
    if (eq < 0) {
      throw usageError(`bad argument '${arg}' on the command line: expected key=value (e.g. max_steps=100)`);
    }
    const key = arg.slice(0, eq).trim().replace(/^--/, '');
    if (!KEY.test(key)) {
      throw usageError(`bad argument '${arg}' on the command line: '${key}' is not a config key name`);
    }
    const value = parseOverrideValue(arg.slice(eq + 1));
    const dot = key.indexOf('.');
    const source = { kind: 'override', arg } as const;
    if (dot < 0) return { key, value, source };
    return { key: key.slice(0, dot), subkey: key.slice(dot + 1), value, source };
  });
}
