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
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw usageError(`config file '${path}' not found`);
    if (code === 'EISDIR') throw usageError(`config file '${path}' is a directory, expected a YAML file`);
    throw usageError(`cannot read config file '${path}': ${(e as Error).message}`);
  }
  return parseConfigText(text, path);
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
