/**
 * Reads a configuration YAML into its top-level `key: value` entries, each with the line it is on,
 * so every later message can say where a key was set. Missing files, YAML syntax errors (with
 * file:line:col), duplicate keys and a top level that is not a mapping are usage errors here.
 */
import { readFileSync } from 'node:fs';
import { isMap, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import { usageError } from '../errors';

/** Where a value came from: a file line or a command-line argument. */
export type ValueSource =
  | { kind: 'file'; file: string; line: number }
  | { kind: 'override'; arg: string };

/** One top-level entry of the configuration. */
export interface ConfigEntry {
  key: string;
  value: unknown;
  source: ValueSource;
  /** Lines of the value's nested items and keys, by dotted path ("0", "0.options.min_doc_words"). */
  lines?: Record<string, number>;
}

/** "file:line" of the deepest part of `path` under `entry` whose line is known. */
export function describeNested(entry: { source: ValueSource; lines?: Record<string, number> }, path: readonly (string | number)[]): string {
  if (entry.source.kind !== 'file') return describeSource(entry.source);
  for (let n = path.length; n > 0; n--) {
    const line = entry.lines?.[path.slice(0, n).join('.')];
    if (line !== undefined) return `${entry.source.file}:${line}`;
  }
  return describeSource(entry.source);
}

/** "cfg.yaml:3" or "command line 'max_steps=abc'". */
export function describeSource(source: ValueSource): string {
  return source.kind === 'file' ? `${source.file}:${source.line}` : `command line '${source.arg}'`;
}

/** Reads `path` (as the user wrote it; messages name it that way). */
export function readConfigFile(path: string): ConfigEntry[] {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw usageError(`config file '${path}' not found`);
    if (code === 'EISDIR') throw usageError(`config file '${path}' is a directory, expected a YAML file`);
    throw usageError(`cannot read config file '${path}': ${(e as Error).message}`);
  }
  return parseConfigText(decodeConfigBytes(bytes, path), path);
}

/**
 * The text of a config file: UTF-8 (a byte-order mark is dropped), or UTF-16 with its byte-order
 * mark (what some Windows editors and shells write). Bytes that are not valid UTF-8 are an error
 * naming the line, never replaced by U+FFFD (a path with them would name another file).
 */
export function decodeConfigBytes(bytes: Buffer, file: string): string {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
  else if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    const le = bytes[0] === 0xff;
    try {
      return new TextDecoder(le ? 'utf-16le' : 'utf-16be', { fatal: true }).decode(bytes.subarray(2));
    } catch {
      throw usageError(`${file}: starts with a UTF-16 ${le ? 'little' : 'big'}-endian byte-order mark but is not valid UTF-16; save it as UTF-8`);
    }
  } else if (bytes.length >= 2 && (bytes[0] === 0 || bytes[1] === 0)) {
    throw usageError(`${file}: looks like UTF-16 without a byte-order mark (NUL bytes); save it as UTF-8`);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    // Find the first invalid sequence to name its line.
    let line = 1;
    let lineStart = 0;
    for (let i = 0; i < bytes.length; ) {
      const b = bytes[i];
      const len = b < 0x80 ? 1 : b >= 0xc2 && b < 0xe0 ? 2 : b >= 0xe0 && b < 0xf0 ? 3 : b >= 0xf0 && b < 0xf5 ? 4 : 0;
      let ok = len > 0 && i + len <= bytes.length;
      for (let k = 1; ok && k < len; k++) ok = (bytes[i + k] & 0xc0) === 0x80;
      if (ok && len > 1) ok = new TextDecoder('utf-8', { fatal: false }).decode(bytes.subarray(i, i + len)) !== '\ufffd';
      if (!ok) {
        throw usageError(
          `${file}:${line}: invalid UTF-8 (byte 0x${b.toString(16).padStart(2, '0')} at column ${i - lineStart + 1}); save the file as UTF-8`,
        );
      }
      if (b === 0x0a) {
        line++;
        lineStart = i + 1;
      }
      i += len;
    }
    throw usageError(`${file}: invalid UTF-8; save the file as UTF-8`);
  }
}

/** Parses YAML `text`; `file` names it in messages. */
export function parseConfigText(text: string, file: string): ConfigEntry[] {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const first = doc.errors[0];
  if (first !== undefined) {
    const { line, col } = lines.linePos(first.pos[0]);
    const what = first.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
    throw usageError(`YAML syntax error in ${file}:${line}:${col}: ${what}`);
  }
  const root = doc.contents;
  if (root === null || (isScalar(root) && (root.value === null || root.value === ''))) return [];
  if (!isMap(root)) {
    const line = root.range ? lines.linePos(root.range[0]).line : 1;
    throw usageError(`${file}:${line}: the config must be a mapping of 'key: value' lines`);
  }
  const entries: ConfigEntry[] = [];
  for (const pair of root.items) {
    const keyNode = pair.key;
    const offset = keyNode !== null && typeof keyNode === 'object' && 'range' in keyNode && keyNode.range ? keyNode.range[0] : 0;
    const line = lines.linePos(offset).line;
    const key = isScalar(keyNode) ? keyNode.value : keyNode;
    if (typeof key !== 'string') {
      throw usageError(`${file}:${line}: keys must be names, got ${JSON.stringify(key)}`);
    }
    const valueNode = pair.value;
    const value: unknown =
      valueNode === null ? null : typeof valueNode === 'object' && 'toJS' in valueNode ? (valueNode as { toJS(d: unknown): unknown }).toJS(doc) : valueNode;
    const nested: Record<string, number> = {};
    collectLines(valueNode, '', (offset) => lines.linePos(offset).line, nested);
    entries.push({ key, value, source: { kind: 'file', file, line }, ...(Object.keys(nested).length > 0 ? { lines: nested } : {}) });
  }
  return entries;
}

/** Records the line of every item of a sequence and every key of a mapping below `node`. */
function collectLines(node: unknown, prefix: string, lineOf: (offset: number) => number, out: Record<string, number>): void {
  const at = (n: unknown): number | undefined => {
    const r = (n as { range?: [number, number, number] } | null)?.range;
    return r ? lineOf(r[0]) : undefined;
  };
  if (isSeq(node)) {
    node.items.forEach((item, i) => {
      const path = prefix === '' ? String(i) : `${prefix}.${i}`;
      const line = at(item);
      if (line !== undefined) out[path] = line;
      collectLines(item, path, lineOf, out);
    });
  } else if (isMap(node)) {
    for (const pair of node.items) {
      const k = isScalar(pair.key) ? String(pair.key.value) : null;
      if (k === null) continue;
      const path = prefix === '' ? k : `${prefix}.${k}`;
      const line = at(pair.key);
      if (line !== undefined) out[path] = line;
      collectLines(pair.value, path, lineOf, out);
    }
  }
}
