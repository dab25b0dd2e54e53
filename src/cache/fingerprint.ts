/**
 * What a tokenized cache depends on, and how to tell a user what changed since it was built.
 *
 *   describePreprocessing(input) → Preprocessing       dataset files (size, mtime), sampling, mixing,
 *                                                      split, seed, tokenizer fingerprint, format, and
 *                                                      the pipeline steps run on the documents
 *   fingerprintOf(p) → sha256 hex of its canonical JSON
 *   tokenizerFingerprint(dir) → the `fingerprint` loadTokenizer(dir) gives, from the files alone
 *   diffPreprocessing(built, now) → string[]           e.g. "tokenizer changed", "val_size 8 → 4",
 *                                                      "dataset kjv's file kjv.jsonl changed (size 10 → 12)",
 *                                                      "pipeline step 'gopher_quality' options changed (…)"
 *
 * Not part of it: cutoff_len, packing and batch sizes (packing happens at train time), and the world
 * size that prepared the cache (the parts concatenate to the same documents whatever it was).
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { PtflowError } from '../errors';
import type { DatasetSpec } from '../data/registry';
import { TOKEN_CACHE_VERSION, type DatasetEntry, type PipelineStepPrint, type Preprocessing } from '../../schemas/token-cache';

export interface PreprocessingInput {
  datasetDir: string;
  train: readonly DatasetSpec[];
  eval: readonly DatasetSpec[];
  maxSamples: number | null;
  mixStrategy: string;
  interleaveProbs: readonly number[] | null;
  valSize: number;
  seed: number;
  onBadRecord: string;
  tokenizerFingerprint: string;
  /** The `pipeline:` steps run on the documents before tokenizing (src/actors/resolve.ts pipelineFingerprint). */
  pipeline?: readonly PipelineStepPrint[];
}

/**
 * sha256(tokenizer.json ‖ 0x00 ‖ tokenizer_config.json), as `loadTokenizer` computes it, without
 * building a tokenizer (a large vocabulary takes seconds and hundreds of MB to load).
 */
export function tokenizerFingerprint(dir: string): string {
  const h = createHash('sha256');
  ['tokenizer.json', 'tokenizer_config.json'].forEach((name, i) => {
    const file = path.join(dir, name);
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch (e) {
      throw new PtflowError(`Cannot read tokenizer file ${file}: ${(e as Error).message}`, 2);
    }
    if (i > 0) h.update(Buffer.from([0]));
    h.update(bytes);
  });
  return h.digest('hex');
}

function fileEntry(datasetDir: string, file: string): DatasetEntry['files'][number] {
  let st;
  try {
    st = statSync(file);
  } catch (e) {
    throw new PtflowError(`Cannot stat dataset file ${file}: ${(e as Error).message}`);
  }
  const rel = path.relative(path.resolve(datasetDir), path.resolve(file));
  const inside = rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
  return { path: inside ? rel.split(path.sep).join('/') : path.resolve(file), size: st.size, mtime_ms: Math.floor(st.mtimeMs) };
}

export function describePreprocessing(inp: PreprocessingInput): Preprocessing {
  const entry = (s: DatasetSpec, role: DatasetEntry['role']): DatasetEntry => ({
    name: s.name,
    role,
    format: s.format,
    text_column: s.textColumn,
    num_samples: s.numSamples ?? null,
    files: s.files.map((f) => fileEntry(inp.datasetDir, f)),
  });
  return {
    format_version: TOKEN_CACHE_VERSION,
    tokenizer: inp.tokenizerFingerprint,
    datasets: [...inp.train.map((s) => entry(s, 'train')), ...inp.eval.map((s) => entry(s, 'eval'))],
    max_samples: inp.maxSamples,
    mix_strategy: inp.mixStrategy,
    interleave_probs: inp.interleaveProbs === null ? null : [...inp.interleaveProbs],
    val_size: inp.valSize,
    seed: inp.seed,
    on_bad_record: inp.onBadRecord,
    // Only when there are steps: a cache built without steps keeps its fingerprint.
    ...(inp.pipeline && inp.pipeline.length > 0 ? { pipeline: inp.pipeline.map((p) => ({ ...p })) } : {}),
  };
}

/** JSON with object keys sorted at every level (a stable byte string for hashing). */
export function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

export function fingerprintOf(p: Preprocessing): string {
  return createHash('sha256').update(canonical(p)).digest('hex');
}

const show = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? v.join(',') : String(v));

function diffDataset(a: DatasetEntry, b: DatasetEntry): string[] {
  const out: string[] = [];
  const who = `dataset ${b.name}`;
  if (a.format !== b.format) out.push(`${who}'s format ${a.format} → ${b.format}`);
  if (a.text_column !== b.text_column) out.push(`${who}'s text column ${a.text_column} → ${b.text_column}`);
  if (a.num_samples !== b.num_samples) out.push(`${who}'s num_samples ${show(a.num_samples)} → ${show(b.num_samples)}`);
  const before = new Map(a.files.map((f) => [f.path, f]));
  const now = new Map(b.files.map((f) => [f.path, f]));
  const added = b.files.filter((f) => !before.has(f.path)).map((f) => f.path);
  const removed = a.files.filter((f) => !now.has(f.path)).map((f) => f.path);
  if (added.length > 0) out.push(`${who} has new file${added.length > 1 ? 's' : ''} ${added.join(', ')}`);
  if (removed.length > 0) out.push(`${who} no longer has file${removed.length > 1 ? 's' : ''} ${removed.join(', ')}`);
  for (const f of b.files) {
    const old = before.get(f.path);
    if (!old) continue;
    const what: string[] = [];
    if (old.size !== f.size) what.push(`size ${old.size} → ${f.size} bytes`);
    if (old.mtime_ms !== f.mtime_ms) what.push(`modified ${new Date(old.mtime_ms).toISOString()} → ${new Date(f.mtime_ms).toISOString()}`);
    if (what.length > 0) out.push(`${who}'s file ${f.path} changed (${what.join(', ')})`);
  }
  if (added.length === 0 && removed.length === 0 && a.files.map((f) => f.path).join('\0') !== b.files.map((f) => f.path).join('\0')) {
    out.push(`${who}'s files are read in a different order`);
  }
  return out;
}

/** Human-readable differences between the preprocessing a cache was built with and the current one. */
export function diffPreprocessing(built: Preprocessing, now: Preprocessing): string[] {
  const out: string[] = [];
  if (built.format_version !== now.format_version) out.push(`cache format version ${built.format_version} → ${now.format_version}`);
  if (built.tokenizer !== now.tokenizer) out.push('tokenizer changed (tokenizer.json / tokenizer_config.json differ)');
  for (const role of ['train', 'eval'] as const) {
    const a = built.datasets.filter((d) => d.role === role);
    const b = now.datasets.filter((d) => d.role === role);
    const key = role === 'train' ? 'dataset' : 'eval_dataset';
    const an = a.map((d) => d.name).join(',');
    const bn = b.map((d) => d.name).join(',');
    if (an !== bn) {
      out.push(`${key} ${an || 'null'} → ${bn || 'null'}`);
      continue;
    }
    a.forEach((d, i) => out.push(...diffDataset(d, b[i])));
  }
  const scalars = ['max_samples', 'mix_strategy', 'interleave_probs', 'val_size', 'seed', 'on_bad_record'] as const;
  for (const k of scalars) {
    if (show(built[k]) !== show(now[k])) out.push(`${k} ${show(built[k])} → ${show(now[k])}`);
  }
  out.push(...diffPipeline(built.pipeline ?? [], now.pipeline ?? []));
  if (out.length === 0 && fingerprintOf(built) !== fingerprintOf(now)) out.push('preprocessing settings changed');
  return out;
}

/** What changed in the steps run on the documents, each naming its step. */
function diffPipeline(built: readonly PipelineStepPrint[], now: readonly PipelineStepPrint[]): string[] {
  const out: string[] = [];
  const before = new Map(built.map((p) => [p.name, p]));
  const after = new Map(now.map((p) => [p.name, p]));
  for (const p of now) {
    const old = before.get(p.name);
    if (!old) {
      out.push(`pipeline step '${p.name}' (${p.actor}) was added`);
      continue;
    }
    if (old.actor !== p.actor) out.push(`pipeline step '${p.name}' runs actor ${p.actor}, the cache was filtered by ${old.actor}`);
    else if (old.source !== p.source) out.push(`pipeline step '${p.name}': the actor module's source changed (${short(old.source)} → ${short(p.source)})`);
    if (canonical(old.options) !== canonical(p.options)) out.push(`pipeline step '${p.name}' options changed (${optionChanges(old.options, p.options)})`);
    if (old.at !== p.at) out.push(`pipeline step '${p.name}' moved (${old.at} → ${p.at})`);
  }
  for (const p of built) if (!after.has(p.name)) out.push(`pipeline step '${p.name}' (${p.actor}) was removed`);
  if (out.length === 0 && built.map((p) => p.name).join('\0') !== now.map((p) => p.name).join('\0')) {
    out.push(`pipeline steps run in another order (${built.map((p) => p.name).join(', ')} → ${now.map((p) => p.name).join(', ')})`);
  }
  return out;
}

const short = (source: string): string => (source.startsWith('sha256:') ? source.slice(0, 19) : source);

/** "min_doc_words 50 → 60, max_doc_words 100000 → null" (top-level keys of two option objects). */
export function optionChanges(a: unknown, b: unknown): string {
  const obj = (v: unknown): Record<string, unknown> => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : { '': v });
  const x = obj(a);
  const y = obj(b);
  const keys = [...new Set([...Object.keys(x), ...Object.keys(y)])].sort();
  return keys
    .filter((k) => canonical(x[k]) !== canonical(y[k]))
    .map((k) => `${k} ${x[k] === undefined ? 'unset' : canonical(x[k])} → ${y[k] === undefined ? 'unset' : canonical(y[k])}`)
    .join(', ');
}
