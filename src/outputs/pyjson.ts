/**
 * JSON written the way Python's `json.dumps` writes it, and read the way `json.loads` reads it.
 *
 * Hugging Face and LLaMA-Factory output files are produced by Python, and users' scripts (and `diff`)
 * compare them as text, so the details matter: `indent` with `","` item separators, `sort_keys`,
 * floats as `repr(float)` (`1e-05`, `3.0`, `1e+16`), `Infinity` / `NaN` literals, and `ensure_ascii`
 * escaping. JavaScript numbers do not know int from float, so a value that Python holds as a float
 * but that happens to be integral is marked with `pyFloat(x)` or by naming its key in `floatKeys`.
 * Non-integral and non-finite numbers are always floats.
 */
import { PtflowError } from '../errors';

/** A number that Python holds as a `float` (so `3` is written `3.0`). */
export class PyFloat {
  constructor(readonly value: number) {}
}

/** Marks `x` as a Python float. */
export function pyFloat(x: number): PyFloat {
  return new PyFloat(x);
}

/** Anything `pyDumps` can write. Object keys whose value is `undefined` are left out. */
export type PyValue =
  | null
  | boolean
  | number
  | string
  | PyFloat
  | readonly PyValue[]
  | { readonly [key: string]: PyValue | undefined };

/** What `pyLoads` returns: plain JSON values (numbers lose their int/float spelling). */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface DumpsOptions {
  /** Python's `indent`: spaces (or a string) per level; `null`/absent = one line. */
  indent?: number | string | null;
  /** Python's `sort_keys` (code point order). */
  sortKeys?: boolean;
  /** Python's `ensure_ascii` (default true): everything outside ' '..'~' becomes `\uXXXX`. */
  ensureAscii?: boolean;
  /** Python's `separators`; default `(', ', ': ')`, or `(',', ': ')` when `indent` is set. */
  separators?: readonly [string, string];
  /** Keys whose numeric values are Python floats wherever they appear. */
  floatKeys?: ReadonlySet<string>;
}

/** `repr(x)` for a Python float: shortest round-trip digits, exponent when decpt <= -4 or > 16. */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const sign = x < 0 ? '-' : '';
  // toExponential() without an argument gives the shortest digits that round-trip, as repr does.
  const [mantissa, expText] = Math.abs(x).toExponential().split('e');
  const digits = mantissa.replace('.', '');
  const exp = Number(expText);
  const decpt = exp + 1; // value = 0.d1d2d3... × 10^decpt
  if (decpt <= -4 || decpt > 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const e = `${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
    return `${sign}${m}e${e}`;
  }
  if (decpt <= 0) return `${sign}0.${'0'.repeat(-decpt)}${digits}`;
  if (decpt >= digits.length) return `${sign}${digits}${'0'.repeat(decpt - digits.length)}.0`;
  return `${sign}${digits.slice(0, decpt)}.${digits.slice(decpt)}`;
}

/** `str(int(x))` for an integral number, all digits (no exponent). */
export function pyIntStr(x: number): string {
  if (!Number.isInteger(x)) throw new PtflowError(`pyIntStr: ${x} is not an integer`);
  return Object.is(x, -0) ? '0' : BigInt(x).toString();
}

/** A float as `json.dumps` writes it (`Infinity`, `-Infinity`, `NaN` for the non-finite ones). */
export function pyFloatJson(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '-Infinity';
  return pyFloatRepr(x);
}

/** True when |x| × 10^ndigits lies exactly halfway between two integers (exact binary arithmetic). */
function isExactTie(x: number, ndigits: number): boolean {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, Math.abs(x));
  const bits = view.getBigUint64(0);
  const biasedExp = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & ((1n << 52n) - 1n);
  const mant = biasedExp === 0 ? fraction : fraction | (1n << 52n);
  const exp2 = (biasedExp === 0 ? 1 : biasedExp) - 1075; // |x| = mant × 2^exp2
  // 2·|x|·10^n = mant·10^n·2^(exp2+1): a tie when that is an odd integer.
  let num = mant * 10n ** BigInt(ndigits);
  const shift = exp2 + 1;
  if (shift >= 0) return shift === 0 && num % 2n === 1n;
  const den = 1n << BigInt(-shift);
  if (num % den !== 0n) return false;
  num /= den;
  return num % 2n === 1n;
}

/**
 * Python's `round(x, ndigits)` for a float (ndigits >= 0): the correctly rounded decimal of the
 * exact binary value, ties to even.
 */
export function pyRound(x: number, ndigits: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  if (!Number.isInteger(ndigits) || ndigits < 0 || ndigits > 20) {
    throw new PtflowError(`pyRound: ndigits must be an integer in 0..20, got ${ndigits}`);
  }
  const ax = Math.abs(x);
  if (ax >= 2 ** 52) return x; // already an integer; nothing below the point to round
  let text = ax.toFixed(ndigits); // exact value rounded, ties away from zero
  if (isExactTie(ax, ndigits)) {
    const scaled = BigInt(text.replace('.', ''));
    if (scaled % 2n === 1n) {
      const down = (scaled - 1n).toString().padStart(ndigits + 1, '0');
      text = ndigits === 0 ? down : `${down.slice(0, -ndigits)}.${down.slice(-ndigits)}`;
    }
  }
  const r = Number(text);
  return x < 0 ? -r : r;
}

const ESCAPES: Record<string, string> = {
  '"': '\\"',
  '\\': '\\\\',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\b': '\\b',
  '\f': '\\f',
};

/** A JSON string literal as Python writes it. */
export function pyJsonString(s: string, ensureAscii = true): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    const code = s.charCodeAt(i);
    const esc = ESCAPES[ch];
    if (esc !== undefined) out += esc;
    else if (code < 0x20 || (ensureAscii && code > 0x7e)) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

function compareCodePoints(a: string, b: string): number {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done || y.done) return x.done && y.done ? 0 : x.done ? -1 : 1;
    const cx = x.value.codePointAt(0) as number;
    const cy = y.value.codePointAt(0) as number;
    if (cx !== cy) return cx - cy;
  }
}

/** Python's `json.dumps(value, ...)`. */
export function pyDumps(value: PyValue, options: DumpsOptions = {}): string {
  const indentUnit =
    options.indent === undefined || options.indent === null
      ? null
      : typeof options.indent === 'number'
        ? ' '.repeat(options.indent)
        : options.indent;
  const [itemSep, keySep] = options.separators ?? (indentUnit === null ? [', ', ': '] : [',', ': ']);
  const ensureAscii = options.ensureAscii ?? true;
  const floatKeys = options.floatKeys;

  const number = (x: number, asFloat: boolean): string =>
    asFloat || !Number.isInteger(x) ? pyFloatJson(x) : pyIntStr(x);

  const encode = (v: PyValue, level: number, asFloat: boolean): string => {
    if (v === null) return 'null';
    if (typeof v === 'boolean') return v ? 'true' : 'false';
    if (typeof v === 'number') return number(v, asFloat);
    if (typeof v === 'string') return pyJsonString(v, ensureAscii);
    if (v instanceof PyFloat) return pyFloatJson(v.value);
    const open = (items: string[], l: string, r: string): string => {
      if (items.length === 0) return l + r;
      if (indentUnit === null) return l + items.join(itemSep) + r;
      const inner = '\n' + indentUnit.repeat(level + 1);
      return l + inner + items.join(itemSep + inner) + '\n' + indentUnit.repeat(level) + r;
    };
    if (Array.isArray(v)) {
      return open(
        (v as readonly PyValue[]).map((item) => encode(item, level + 1, false)),
        '[',
        ']',
      );
    }
    const obj = v as { readonly [key: string]: PyValue | undefined };
    let keys = Object.keys(obj).filter((k) => obj[k] !== undefined);
    if (options.sortKeys) keys = keys.sort(compareCodePoints);
    const items = keys.map(
      (k) =>
        pyJsonString(k, ensureAscii) + keySep + encode(obj[k] as PyValue, level + 1, floatKeys?.has(k) ?? false),
    );
    return open(items, '{', '}');
  };
  return encode(value, 0, false);
}

/**
 * Python's `json.loads`: standard JSON plus the `NaN`, `Infinity` and `-Infinity` literals Python
 * writes. Errors name `source` with line and column (`firstLine` = the line `text` starts on).
 */
export function pyLoads(text: string, source: string, firstLine = 1): JsonValue {
  return parse(text, source, firstLine, false) as JsonValue;
}

/**
 * Like `pyLoads`, but numbers spelled as floats (`1.0`, `1e-05`, `NaN`, `Infinity`) come back as
 * `PyFloat`, so that `pyDumps` writes a file read this way exactly as it was.
 */
export function pyLoadsMarked(text: string, source: string, firstLine = 1): PyValue {
  return parse(text, source, firstLine, true);
}

type Parsed = JsonValue | PyFloat | Parsed[] | { [key: string]: Parsed };

function parse(text: string, source: string, firstLine: number, markFloats: boolean): Parsed {
  let pos = 0;
  const fail = (what: string): never => {
    const before = text.slice(0, pos);
    const line = before.split('\n').length + firstLine - 1;
    const col = pos - before.lastIndexOf('\n');
    throw new PtflowError(`${source}:${line}:${col}: invalid JSON: ${what}`);
  };
  const skipWs = (): void => {
    while (pos < text.length && ' \t\n\r'.includes(text[pos])) pos++;
  };
  const literal = (word: string, value: Parsed): Parsed => {
    if (text.startsWith(word, pos)) {
      pos += word.length;
      return value;
    }
    return fail(`unexpected ${JSON.stringify(text.slice(pos, pos + 10))}`);
  };
  const parseString = (): string => {
    const start = pos;
    pos++;
    for (;;) {
      if (pos >= text.length) return fail('unterminated string');
      const c = text[pos];
      if (c === '"') break;
      if (c === '\\') pos += 2;
      else if (c.charCodeAt(0) < 0x20) return fail('control character in string');
      else pos++;
    }
    pos++;
    try {
      return JSON.parse(text.slice(start, pos)) as string;
    } catch {
      pos = start;
      return fail('bad escape in string');
    }
  };
  const parseValue = (): Parsed => {
    skipWs();
    const c = text[pos];
    if (c === '{') {
      pos++;
      const obj: { [key: string]: Parsed } = {};
      skipWs();
      if (text[pos] === '}') {
        pos++;
        return obj;
      }
      for (;;) {
        skipWs();
        if (text[pos] !== '"') return fail('expected a string key');
        const key = parseString();
        skipWs();
        if (text[pos] !== ':') return fail("expected ':'");
        pos++;
        obj[key] = parseValue();
        skipWs();
        if (text[pos] === ',') pos++;
        else if (text[pos] === '}') {
          pos++;
          return obj;
        } else return fail("expected ',' or '}'");
      }
    }
    if (c === '[') {
      pos++;
      const arr: Parsed[] = [];
      skipWs();
      if (text[pos] === ']') {
        pos++;
        return arr;
      }
      for (;;) {
        arr.push(parseValue());
        skipWs();
        if (text[pos] === ',') pos++;
        else if (text[pos] === ']') {
          pos++;
          return arr;
        } else return fail("expected ',' or ']'");
      }
    }
    if (c === '"') return parseString();
    if (c === 't') return literal('true', true);
    if (c === 'f') return literal('false', false);
    if (c === 'n') return literal('null', null);
    const num = (x: number, isFloat: boolean): Parsed => (markFloats && isFloat ? new PyFloat(x) : x);
    if (c === 'N') return literal('NaN', num(NaN, true));
    if (c === 'I') return literal('Infinity', num(Infinity, true));
    if (c === '-' && text.startsWith('-Infinity', pos)) return literal('-Infinity', num(-Infinity, true));
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(pos, pos + 400));
    if (m === null) return fail(pos >= text.length ? 'unexpected end of input' : `unexpected ${JSON.stringify(c)}`);
    pos += m[0].length;
    return num(Number(m[0]), m[2] !== undefined || m[3] !== undefined);
  };
  const value = parseValue();
  skipWs();
  if (pos < text.length) fail('extra data after the value');
  return value;
}
