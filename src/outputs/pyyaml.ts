/**
 * YAML written the way PyYAML's `yaml.dump(data, sort_keys=False)` writes it, for the model card's
 * front matter (transformers' `TrainingSummary.to_model_card`): block style, sequences at their
 * key's indentation, 2-space mapping indentation, plain scalars unless PyYAML would quote them
 * (single quotes; double quotes with escapes for non-ASCII), floats as `repr(x).lower()` with
 * `.0` added before an exponent (`1.0e-05`), `.inf` / `.nan`.
 */
import { PyFloat, pyFloatRepr } from './pyjson';

export type YamlValue =
  | null
  | boolean
  | number
  | string
  | PyFloat
  | readonly YamlValue[]
  | { readonly [key: string]: YamlValue | undefined };

/** PyYAML's `represent_float`. */
export function yamlFloat(x: number): string {
  if (Number.isNaN(x)) return '.nan';
  if (x === Infinity) return '.inf';
  if (x === -Infinity) return '-.inf';
  const r = pyFloatRepr(x).toLowerCase();
  return !r.includes('.') && r.includes('e') ? r.replace('e', '.0e') : r;
}

// PyYAML's implicit resolvers (YAML 1.1): a plain scalar matching one of these is not a string.
const RESOLVERS: readonly RegExp[] = [
  /^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/,
  /^(?:~|null|Null|NULL|)$/,
  /^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$/,
  /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/,
  /^(?:[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?)$/,
  /^(?:<<|=)$/,
];

/** Whether PyYAML writes `s` as a plain (unquoted) block scalar. */
function plainAllowed(s: string): boolean {
  if (s.length === 0 || s !== s.trim()) return false;
  if (s.startsWith('---') || s.startsWith('...')) return false;
  const ws = (i: number) => i >= s.length || s[i] === ' ' || s[i] === '\t';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (i === 0) {
      if ('#,[]{}&*!|>\'"%@`'.includes(ch)) return false;
      if ('?:-'.includes(ch) && ws(1)) return false;
    } else {
      if (ch === ':' && ws(i + 1)) return false;
      if (ch === '#' && ws(i - 1)) return false;
    }
  }
  return !RESOLVERS.some((re) => re.test(s));
}

function doubleQuoted(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0) as number;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (c >= 0x20 && c <= 0x7e) out += ch;
    else if (c < 0x100) out += `\\x${c.toString(16).toUpperCase().padStart(2, '0')}`;
    else if (c < 0x10000) out += `\\u${c.toString(16).toUpperCase().padStart(4, '0')}`;
    else out += `\\U${c.toString(16).toUpperCase().padStart(8, '0')}`;
  }
  return `${out}"`;
}

/** A string scalar as PyYAML writes it (default `allow_unicode=False`). */
export function yamlString(s: string): string {
  if (/[^\x20-\x7e]/.test(s)) return doubleQuoted(s);
  return plainAllowed(s) ? s : `'${s.replace(/'/g, "''")}'`;
}

function scalar(v: null | boolean | number | string | PyFloat): string {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'string') return yamlString(v);
  if (v instanceof PyFloat) return yamlFloat(v.value);
  return Number.isInteger(v) ? String(v) : yamlFloat(v);
}

const isMap = (v: YamlValue): v is { readonly [key: string]: YamlValue | undefined } =>
  v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof PyFloat);

function entries(m: { readonly [key: string]: YamlValue | undefined }): [string, YamlValue][] {
  return Object.entries(m).filter((e): e is [string, YamlValue] => e[1] !== undefined);
}

/** Lines of `value`, its keys / items at `indent` spaces. */
function emit(value: YamlValue, indent: number): string[] {
  const pad = ' '.repeat(indent);
  if (Array.isArray(value)) {
    const lines: string[] = [];
    for (const item of value as readonly YamlValue[]) {
      if (isMap(item) && entries(item).length > 0) {
        const inner = emit(item, indent + 2);
        lines.push(`${pad}- ${inner[0].slice(indent + 2)}`, ...inner.slice(1));
      } else if (Array.isArray(item) && item.length > 0) {
        const inner = emit(item, indent + 2);
        lines.push(`${pad}- ${inner[0].slice(indent + 2)}`, ...inner.slice(1));
      } else lines.push(`${pad}- ${inlineValue(item)}`);
    }
    return lines;
  }
  if (isMap(value)) {
    const lines: string[] = [];
    for (const [k, v] of entries(value)) {
      const key = yamlString(k);
      if (isMap(v) && entries(v).length > 0) lines.push(`${pad}${key}:`, ...emit(v, indent + 2));
      else if (Array.isArray(v) && v.length > 0) lines.push(`${pad}${key}:`, ...emit(v, indent));
      else lines.push(`${pad}${key}: ${inlineValue(v)}`);
    }
    return lines;
  }
  return [`${pad}${inlineValue(value)}`];
}

function inlineValue(v: YamlValue): string {
  if (Array.isArray(v)) return '[]';
  if (isMap(v)) return '{}';
  return scalar(v as null | boolean | number | string | PyFloat);
}

/** `yaml.dump(value, sort_keys=False)` for a mapping or sequence (ends with a newline). */
export function yamlDump(value: YamlValue): string {
  return emit(value, 0).join('\n') + '\n';
}
