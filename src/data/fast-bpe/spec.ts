/**
 * Decides whether a tokenizer.json is a byte-level BPE this package encodes exactly, and extracts
 * what the encoder needs. Supported: model BPE (no dropout, byte fallback, unk fusing or word
 * suffixes), normalizer null or NFC, pre-tokenizer `ByteLevel` (its own regex) or
 * `Sequence[Split(Regex, Isolated | inverted), ByteLevel(use_regex false)]`, any post-processor
 * (none adds anything when special tokens are off), tokenizer_config without `remove_space` /
 * `do_lowercase_and_remove_accent`. Everything else is reported unsupported with the reason.
 *
 *   analyzeTokenizer(tokenizerJson, tokenizerConfig) → { ok: true, spec } | { ok: false, reason }
 *
 * The split regex is compiled by @huggingface/tokenizers itself, so the generic path splits exactly
 * as the reference; a hand-written scanner is attached when the compiled pattern is a known one.
 */
import { ByteLevelPreTokenizer, SplitPreTokenizer } from '@huggingface/tokenizers';
import { z } from 'zod';
import { gpt2Scanner, llama3Scanner, type Scanner } from './scanners';

export interface AddedTokenSpec {
  id: number;
  content: string;
  special: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
}

export type PreTokenizerSpec =
  /** ByteLevel alone: GPT-2's regex, optional prefix space on each section. */
  | { kind: 'byte-level'; regex: RegExp; addPrefixSpace: boolean; scanner: Scanner }
  /** Split(regex) then ByteLevel without regex: `invert` keeps only the matches, else gaps too. */
  | { kind: 'split'; regex: RegExp; invert: boolean; scanner: Scanner | null; patternName: string | null };

export interface FastBpeSpec {
  /** model.vocab (token → id). */
  vocab: Map<string, number>;
  /** Merge pairs in rank order. */
  merges: [string, string][];
  ignoreMerges: boolean;
  normalizer: 'NFC' | null;
  preTokenizer: PreTokenizerSpec;
  addedTokens: AddedTokenSpec[];
}

export type Analysis = { ok: true; spec: FastBpeSpec } | { ok: false; reason: string };

const addedTokenSchema = z.looseObject({
  id: z.number().int(),
  content: z.string(),
  special: z.boolean().optional(),
  lstrip: z.boolean().optional(),
  rstrip: z.boolean().optional(),
  normalized: z.boolean().optional(),
  single_word: z.boolean().optional(),
});

const modelSchema = z.looseObject({
  type: z.literal('BPE'),
  dropout: z.number().nullable().optional(),
  unk_token: z.string().nullable().optional(),
  continuing_subword_prefix: z.string().nullable().optional(),
  continuing_subword_suffix: z.string().nullable().optional(),
  end_of_word_suffix: z.string().nullable().optional(),
  fuse_unk: z.boolean().nullable().optional(),
  byte_fallback: z.boolean().nullable().optional(),
  ignore_merges: z.boolean().nullable().optional(),
  // Checked by hand below: zod over 100k+ entries costs more than the rest of loading.
  vocab: z.unknown(),
  merges: z.unknown(),
});

const byteLevelSchema = z.looseObject({
  type: z.literal('ByteLevel'),
  add_prefix_space: z.boolean().nullable().optional(),
  use_regex: z.boolean().nullable().optional(),
});

const splitSchema = z.looseObject({
  type: z.literal('Split'),
  pattern: z.looseObject({ Regex: z.string() }),
  behavior: z.string().optional(),
  invert: z.boolean().nullable().optional(),
});

/** Compiled pattern sources (as @huggingface/tokenizers rewrites them) with hand-written scanners. */
const WS_CLASS = '\\p{White_Space}';
function llama3Source(digits: string): string {
  return (
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}" +
    digits +
    `| ?[^${WS_CLASS}\\p{L}\\p{N}]+[\\r\\n]*|${WS_CLASS}*[\\r\\n]+|${WS_CLASS}+(?!\\P{White_Space})|${WS_CLASS}+`
  );
}
const KNOWN_SPLITS: ReadonlyMap<string, { name: string; scanner: Scanner }> = new Map([
  [llama3Source('{1,3}'), { name: 'llama3', scanner: llama3Scanner(3) }],
  [llama3Source(''), { name: 'qwen2', scanner: llama3Scanner(1) }],
]);

function fail(reason: string): Analysis {
  return { ok: false, reason };
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function analyzePreTokenizer(pt: unknown): PreTokenizerSpec | string {
  if (!isObject(pt)) return 'pre_tokenizer is not an object';
  const steps = pt.type === 'Sequence' ? pt.pretokenizers : [pt];
  if (!Array.isArray(steps)) return 'pre_tokenizer Sequence without "pretokenizers"';
  if (steps.length === 1) {
    const bl = byteLevelSchema.safeParse(steps[0]);
    if (!bl.success) return `pre_tokenizer ${String((steps[0] as { type?: unknown })?.type)} alone is not ByteLevel`;
    if (bl.data.use_regex === false) return 'ByteLevel with use_regex false and no Split';
    const regex = new ByteLevelPreTokenizer({ type: 'ByteLevel' }).pattern;
    return { kind: 'byte-level', regex, addPrefixSpace: bl.data.add_prefix_space ?? false, scanner: gpt2Scanner };
  }
  if (steps.length !== 2) return `pre_tokenizer Sequence of ${steps.length} steps`;
  const split = splitSchema.safeParse(steps[0]);
  if (!split.success) return 'pre_tokenizer Sequence does not start with a Split on a Regex';
  const bl = byteLevelSchema.safeParse(steps[1]);
  if (!bl.success) return 'pre_tokenizer Sequence does not end with ByteLevel';
  if (bl.data.use_regex !== false) return 'ByteLevel after Split still applies its own regex';
  if (bl.data.add_prefix_space) return 'ByteLevel after Split adds a prefix space';
  const invert = split.data.invert === true;
  if (!invert && split.data.behavior !== 'Isolated') return `Split behavior ${split.data.behavior ?? '(none)'}`;
  let regex: RegExp | null;
  try {
    regex = new SplitPreTokenizer(split.data as ConstructorParameters<typeof SplitPreTokenizer>[0]).pattern;
  } catch (e) {
    return `Split regex does not compile: ${(e as Error).message}`;
  }
  if (regex === null) return 'Split pattern did not compile';
  const known = KNOWN_SPLITS.get(regex.source);
  return { kind: 'split', regex, invert, scanner: known?.scanner ?? null, patternName: known?.name ?? null };
}

/** model.* of a BPE tokenizer.json: vocabulary, merges in rank order, and the options as written. */
export interface BpeModelJson {
  vocab: Map<string, number>;
  merges: [string, string][];
  options: BpeModelOptions;
}

export interface BpeModelOptions {
  unk_token?: string | null;
  continuing_subword_prefix?: string | null;
  fuse_unk?: boolean | null;
  byte_fallback?: boolean | null;
  ignore_merges?: boolean | null;
}

/** Reads model.vocab and model.merges ("a b" or ["a", "b"]); a string says what is wrong. */
export function readBpeModel(model: unknown): BpeModelJson | string {
  const parsed = modelSchema.safeParse(model);
  if (!parsed.success) return `model is not a BPE model (${parsed.error.issues[0].path.join('.')}: ${parsed.error.issues[0].message})`;
  const { vocab: rawVocab, merges: rawMerges, ...options } = parsed.data;
  if (options.dropout !== null && options.dropout !== undefined && options.dropout !== 0) return 'BPE dropout';
  if (options.end_of_word_suffix) return 'BPE end_of_word_suffix';
  if (options.continuing_subword_suffix) return 'BPE continuing_subword_suffix';
  if (!isObject(rawVocab)) return 'model.vocab is not an object';
  if (!Array.isArray(rawMerges)) return 'model.merges is not an array';
  const vocab = new Map<string, number>();
  for (const [token, id] of Object.entries(rawVocab)) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) return `vocab entry "${token}" has id ${String(id)}`;
    vocab.set(token, id);
  }
  const merges: [string, string][] = new Array(rawMerges.length);
  for (let i = 0; i < rawMerges.length; i++) {
    const x: unknown = rawMerges[i];
    let pair: string[];
    if (typeof x === 'string') pair = x.split(' ', 2);
    else if (Array.isArray(x) && x.length === 2 && typeof x[0] === 'string' && typeof x[1] === 'string') pair = x as string[];
    else return `merges[${i}] is neither "a b" nor ["a", "b"]`;
    if (pair.length !== 2) return `merges[${i}] "${String(x)}" has no space`;
    merges[i] = [pair[0], pair[1]];
  }
  return { vocab, merges, options };
}

function analyzeModel(model: unknown): Pick<FastBpeSpec, 'vocab' | 'merges' | 'ignoreMerges'> | string {
  const m = readBpeModel(model);
  if (typeof m === 'string') return m;
  if (m.options.byte_fallback) return 'BPE byte_fallback';
  if (m.options.fuse_unk) return 'BPE fuse_unk';
  return { vocab: m.vocab, merges: m.merges, ignoreMerges: m.options.ignore_merges ?? false };
}

/** added_tokens as the reference reads them (`normalized` defaults to `!special`). */
export function readAddedTokens(raw: unknown): AddedTokenSpec[] | string {
  const rawAdded = raw ?? [];
  if (!Array.isArray(rawAdded)) return 'added_tokens is not an array';
  const addedTokens: AddedTokenSpec[] = [];
  for (let i = 0; i < rawAdded.length; i++) {
    const t = addedTokenSchema.safeParse(rawAdded[i]);
    if (!t.success) return `added_tokens[${i}]: ${t.error.issues[0].message}`;
    const special = t.data.special ?? false;
    addedTokens.push({
      id: t.data.id,
      content: t.data.content,
      special,
      lstrip: t.data.lstrip ?? false,
      rstrip: t.data.rstrip ?? false,
      normalized: t.data.normalized ?? !special,
    });
  }
  return addedTokens;
}

/** tokenizer_config.json options that change the text before any tokenizer.json step. */
export function configRefusal(tokenizerConfig: unknown): string | null {
  if (!isObject(tokenizerConfig)) return null;
  if (tokenizerConfig.remove_space === true) return 'tokenizer_config remove_space';
  if (tokenizerConfig.do_lowercase_and_remove_accent) return 'tokenizer_config do_lowercase_and_remove_accent';
  return null;
}

/** Whether the tokenizer.json (with its tokenizer_config.json) is supported, and its spec. */
export function analyzeTokenizer(tokenizerJson: unknown, tokenizerConfig: unknown = {}): Analysis {
  if (!isObject(tokenizerJson)) return fail('tokenizer.json is not an object');
  const refusal = configRefusal(tokenizerConfig);
  if (refusal !== null) return fail(refusal);
  const norm = tokenizerJson.normalizer;
  let normalizer: 'NFC' | null;
  if (norm === null || norm === undefined) normalizer = null;
  else if (isObject(norm) && norm.type === 'NFC') normalizer = 'NFC';
  else return fail(`normalizer ${isObject(norm) ? String(norm.type) : typeof norm}`);

  const model = analyzeModel(tokenizerJson.model);
  if (typeof model === 'string') return fail(model);
  const preTokenizer = analyzePreTokenizer(tokenizerJson.pre_tokenizer);
  if (typeof preTokenizer === 'string') return fail(preTokenizer);
  const addedTokens = readAddedTokens(tokenizerJson.added_tokens);
  if (typeof addedTokens === 'string') return fail(addedTokens);
  return { ok: true, spec: { ...model, normalizer, preTokenizer, addedTokens } };
}
