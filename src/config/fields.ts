/**
 * Field builders for the configuration schema: each builds a zod schema that accepts what a
 * LLaMA-Factory YAML (or a `key=value` override) may carry for that kind of value, coerces it the
 * way Hugging Face's argument parser would (numeric strings for numbers, "yes"/"no" for booleans,
 * "a,b" for lists), fills the default, and records the key's type, default and help text so
 * `listConfigKeys()` and the `--help` text can be generated from the schema itself.
 *
 * Every rejection carries a message phrased to follow the key name, e.g. "must be an integer".
 */
import { z } from 'zod';

/** What the help table shows for one key. */
export interface FieldMeta {
  /** Short type label, e.g. "integer", "number | null", "full | freeze | lora". */
  type: string;
  /** The default as the user would write it (null = unset). */
  default: unknown;
}

/** Metadata of every field built here, keyed by the outermost schema of the field. */
export const fieldMeta = z.registry<FieldMeta>();

type Check<T> = { ok: (v: T) => boolean; rule: string };

function finish<S extends z.ZodType>(schema: S, meta: FieldMeta, help: string): S {
  const described = schema.describe(help) as S;
  fieldMeta.add(described, meta);
  return described;
}

// ---- coercions (applied before type checks) -------------------------------------------------

const NUMERIC = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Numeric strings ("5e-5", " 10 ") become numbers, as Python's float()/int() would read them. */
export function coerceNumber(v: unknown): unknown {
  if (typeof v === 'string' && NUMERIC.test(v.trim())) return Number(v.trim());
  return v;
}

const TRUE_WORDS = new Set(['true', 'yes', 'y', 't', 'on', '1']);
const FALSE_WORDS = new Set(['false', 'no', 'n', 'f', 'off', '0']);

/** Boolean words as HF's `string_to_bool` (plus YAML 1.1's on/off), and the numbers 0 / 1. */
export function coerceBool(v: unknown): unknown {
  if (typeof v === 'string') {
    const w = v.trim().toLowerCase();
    if (TRUE_WORDS.has(w)) return true;
    if (FALSE_WORDS.has(w)) return false;
  }
  if (v === 1) return true;
  if (v === 0) return false;
  return v;
}

/** Numbers given where text is expected (e.g. `run_name: 7`) become text. */
function coerceString(v: unknown): unknown {
  return typeof v === 'number' && Number.isFinite(v) ? String(v) : v;
}

/** "a, b" → ["a", "b"]; a YAML list of scalars is kept (scalars as text); "" → null. */
function coerceStringList(v: unknown): unknown {
  if (typeof v === 'string') {
    const items = v.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
    return items.length === 0 ? null : items;
  }
  if (Array.isArray(v)) return v.map(coerceString);
  return v;
}

/** "0.3, 0.7" → [0.3, 0.7]; a YAML list keeps its items (numeric strings become numbers). */
function coerceNumberList(v: unknown): unknown {
  if (typeof v === 'string') {
    const items = v.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
    return items.length === 0 ? null : items.map(coerceNumber);
  }
  if (Array.isArray(v)) return v.map(coerceNumber);
  return v;
}

const SIZE = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(i?)b?$/i;

/** "256MiB", "1.5GB", "512k", "1048576" → bytes (K/M/G/T: powers of 1024 with or without "i"). */
export function parseByteSize(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  const m = SIZE.exec(v.trim());
  if (!m) return v;
  const power = ' kmgt'.indexOf((m[2] || ' ').toLowerCase());
  return Math.round(Number(m[1]) * 1024 ** power);
}

// ---- builders ------------------------------------------------------------------------------

function numberSchema(integer: boolean, checks: Check<number>[]) {
  const base = z.number({ error: integer ? 'must be an integer' : 'must be a number' });
  // z.number() already rejects NaN and ±Infinity.
  let s: z.ZodType<number> = base;
  if (integer) s = s.refine(Number.isInteger, { message: 'must be an integer' });
  for (const c of checks) s = s.refine(c.ok, { message: c.rule });
  return z.preprocess(coerceNumber, s);
}

/** A number key with a default. */
export function num(def: number, help: string, ...checks: Check<number>[]) {
  return finish(numberSchema(false, checks).default(def), { type: 'number', default: def }, help);
}

/** An integer key with a default. */
export function int(def: number, help: string, ...checks: Check<number>[]) {
  return finish(numberSchema(true, checks).default(def), { type: 'integer', default: def }, help);
}

/** A number key that may be unset (null). */
export function optNum(help: string, ...checks: Check<number>[]) {
  return finish(numberSchema(false, checks).nullable().default(null), { type: 'number | null', default: null }, help);
}

/** An integer key that may be unset (null). */
export function optInt(help: string, ...checks: Check<number>[]) {
  return finish(numberSchema(true, checks).nullable().default(null), { type: 'integer | null', default: null }, help);
}

/** A boolean key with a default. */
export function bool(def: boolean, help: string) {
  const s = z.preprocess(coerceBool, z.boolean({ error: 'must be true or false' }));
  return finish(s.default(def), { type: 'boolean', default: def }, help);
}

/** A boolean key that may be unset (null = decided from other keys). */
export function optBool(help: string) {
  const s = z.preprocess(coerceBool, z.boolean({ error: 'must be true, false or null' }).nullable());
  return finish(s.default(null), { type: 'boolean | null', default: null }, help);
}

/** A text key with a default. */
export function str(def: string, help: string) {
  const s = z.preprocess(coerceString, z.string({ error: 'must be a string' }).min(1, { message: 'must not be empty' }));
  return finish(s.default(def), { type: 'string', default: def }, help);
}

/** A text key that may be unset (null); an empty string counts as unset. */
export function optStr(help: string) {
  const s = z.preprocess(
    (v) => (v === '' ? null : coerceString(v)),
    z.string({ error: 'must be a string or null' }).nullable(),
  );
  return finish(s.default(null), { type: 'string | null', default: null }, help);
}

/** A comma-separated list (or YAML list) of names; null when unset. */
export function optList(help: string) {
  const s = z.preprocess(
    coerceStringList,
    z.array(z.string({ error: 'must be a list of names' }), { error: 'must be a name or a comma-separated list of names' }).nullable(),
  );
  return finish(s.default(null), { type: 'list | null', default: null }, help);
}

/** A comma-separated list (or YAML list) of names with a default. */
export function list(def: string, help: string) {
  const s = z.preprocess(
    coerceStringList,
    z
      .array(z.string({ error: 'must be a list of names' }), { error: 'must be a name or a comma-separated list of names' })
      .min(1, { message: 'must name at least one item' }),
  );
  return finish(s.default(() => def.split(',')), { type: 'list', default: def }, help);
}

/** A comma-separated list (or YAML list) of numbers; null when unset. */
export function optNumList(help: string, ...checks: Check<number>[]) {
  let item: z.ZodType<number> = z.number({ error: 'must be a list of numbers' });
  for (const c of checks) item = item.refine(c.ok, { message: c.rule });
  const s = z.preprocess(
    coerceNumberList,
    z.array(item, { error: 'must be a comma-separated list of numbers' }).nullable(),
  );
  return finish(s.default(null), { type: 'number list | null', default: null }, help);
}

/** One of a fixed set of words. */
export function oneOf<const T extends readonly [string, ...string[]]>(values: T, def: T[number], help: string) {
  const s = z.preprocess(coerceString, z.enum(values, { error: `must be one of: ${values.join(', ')}` }));
  return finish(s.default(def as never), { type: values.join(' | '), default: def }, help);
}

/** A byte count: a plain integer or a size such as "256MiB" / "1GB". */
export function bytes(def: number, help: string, ...checks: Check<number>[]) {
  let s: z.ZodType<number> = z
    .number({ error: 'must be a byte count such as 268435456 or "256MiB"' })
    .refine((v) => Number.isInteger(v) && v >= 0, { message: 'must be a whole number of bytes' });
  for (const c of checks) s = s.refine(c.ok, { message: c.rule });
  return finish(z.preprocess(parseByteSize, s).default(def), { type: 'bytes', default: def }, help);
}

/** Scalar values a keyword-argument mapping may hold. */
export type KwargValue = string | number | boolean | null;

/** A mapping of keyword arguments (YAML mapping, or a JSON object string as HF accepts). */
export function kwargs(help: string) {
  const s = z.preprocess(
    (v) => {
      if (v === null || v === '') return {};
      if (typeof v === 'string' && v.trim().startsWith('{')) {
        try {
          return JSON.parse(v) as unknown;
        } catch {
          return v;
        }
      }
      return v;
    },
    z.record(
      z.string(),
      z.union([z.string(), z.number(), z.boolean(), z.null()], { error: 'values must be numbers, strings or booleans' }),
      { error: 'must be a mapping such as {num_stable_steps: 100} or a JSON object' },
    ),
  );
  return finish(s.default(() => ({})), { type: 'mapping', default: {} }, help);
}

/** A key whose schema is built elsewhere (e.g. the `pipeline:` list, schema-pipeline.ts). */
export function described<S extends z.ZodType>(schema: S, meta: FieldMeta, help: string): S {
  return finish(schema, meta, help);
}

// ---- common checks -------------------------------------------------------------------------

export const atLeast = (min: number): Check<number> => ({ ok: (v) => v >= min, rule: `must be >= ${min}` });
export const above = (min: number): Check<number> => ({ ok: (v) => v > min, rule: `must be > ${min}` });
export const below = (max: number): Check<number> => ({ ok: (v) => v < max, rule: `must be < ${max}` });
export const atMost = (max: number): Check<number> => ({ ok: (v) => v <= max, rule: `must be <= ${max}` });
export const rule = (ok: (v: number) => boolean, text: string): Check<number> => ({ ok, rule: text });
