/**
 * Decides whether a tokenizer.json is a SentencePiece-style BPE (Llama-2 / Mistral family) that
 * `SentencePieceEncoder` encodes exactly, and extracts what it needs. Supported:
 *   - model BPE with `byte_fallback: true` and all 256 `<0xNN>` byte tokens (so no text ever
 *     becomes unk, and `fuse_unk` has nothing to fuse), no dropout, suffixes or ignore_merges;
 *   - spaces as "▁" either through the normalizer Sequence[Prepend "▁", Replace " " → "▁"] with no
 *     pre-tokenizer (the "legacy" layout), or through a Metaspace pre-tokenizer (replacement "▁")
 *     with no normalizer;
 *   - vocabularies where no token and no merge result has "▁" right after another character, so a
 *     word never merges across a "▁" that follows a non-"▁" character: the encoder cuts the text
 *     there and merges each piece alone (same ids, and pieces are cacheable).
 *
 *   analyzeSentencePiece(tokenizerJson, tokenizerConfig) → { ok: true, spec } | { ok: false, reason }
 */
import { z } from 'zod';
import { type AddedTokenSpec, configRefusal, isObject, readAddedTokens, readBpeModel } from './spec';

/** SentencePiece's visible space. */
export const SPACE_MARK = '\u2581';

export type SpacesSpec =
  /** Prepend + Replace normalizer: every section gets a leading "▁", added tokens normalize too. */
  | { kind: 'normalizer' }
  /** Metaspace: " " → "▁", then a leading "▁" unless there is one (per prepend_scheme). */
  | { kind: 'metaspace'; prepend: 'always' | 'first' | 'never' };

export interface SentencePieceSpec {
  vocab: Map<string, number>;
  /** Merge pairs in rank order. */
  merges: [string, string][];
  addedTokens: AddedTokenSpec[];
  spaces: SpacesSpec;
}

export type SentencePieceAnalysis = { ok: true; spec: SentencePieceSpec } | { ok: false; reason: string };

const prependSchema = z.looseObject({ type: z.literal('Prepend'), prepend: z.literal(SPACE_MARK) });
const replaceSchema = z.looseObject({
  type: z.literal('Replace'),
  pattern: z.strictObject({ String: z.literal(' ') }),
  content: z.literal(SPACE_MARK),
});
const metaspaceSchema = z.looseObject({
  type: z.literal('Metaspace'),
  replacement: z.literal(SPACE_MARK).optional(),
  str_rep: z.literal(SPACE_MARK).optional(),
  prepend_scheme: z.enum(['always', 'first', 'never']).optional(),
});

/** The 256 byte-fallback token names, `<0x00>` … `<0xFF>`. */
export const BYTE_TOKENS: readonly string[] = Array.from(
  { length: 256 },
  (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`,
);

/** Index of the first "▁" that follows another character in `token`, or -1. */
export function spaceMarkAfterChar(token: string): number {
  let at = token.indexOf(SPACE_MARK, 1);
  while (at > 0) {
    if (token.charCodeAt(at - 1) !== 0x2581) return at;
    at = token.indexOf(SPACE_MARK, at + 1);
  }
  return -1;
}

function analyzeSpaces(normalizer: unknown, preTokenizer: unknown): SpacesSpec | string {
  if (preTokenizer === null || preTokenizer === undefined) {
    if (!isObject(normalizer) || normalizer.type !== 'Sequence' || !Array.isArray(normalizer.normalizers)) {
      return 'no pre-tokenizer and the normalizer is not a Sequence[Prepend "▁", Replace " " → "▁"]';
    }
    const steps: unknown[] = normalizer.normalizers;
    const prepends = steps.filter((s) => prependSchema.safeParse(s).success).length;
    const replaces = steps.filter((s) => replaceSchema.safeParse(s).success).length;
    if (steps.length !== 2 || prepends !== 1 || replaces !== 1) {
      const types = steps.map((s) => (isObject(s) ? String(s.type) : typeof s)).join(', ');
      return `normalizer Sequence[${types}] is not Prepend "▁" + Replace " " → "▁"`;
    }
    return { kind: 'normalizer' };
  }
  if (normalizer !== null && normalizer !== undefined) {
    return `normalizer ${isObject(normalizer) ? String(normalizer.type) : typeof normalizer} with a pre-tokenizer`;
  }
  const ms = metaspaceSchema.safeParse(preTokenizer);
  if (!ms.success) {
    const type = isObject(preTokenizer) ? String(preTokenizer.type) : typeof preTokenizer;
    return `pre_tokenizer ${type} is not a Metaspace with replacement "▁"`;
  }
  return { kind: 'metaspace', prepend: ms.data.prepend_scheme ?? 'always' };
}

/** Whether the tokenizer.json is a SentencePiece-style BPE this package encodes exactly. */
export function analyzeSentencePiece(tokenizerJson: unknown, tokenizerConfig: unknown = {}): SentencePieceAnalysis {
  const fail = (reason: string): SentencePieceAnalysis => ({ ok: false, reason });
  if (!isObject(tokenizerJson)) return fail('tokenizer.json is not an object');
  const refusal = configRefusal(tokenizerConfig);
  if (refusal !== null) return fail(refusal);
  const spaces = analyzeSpaces(tokenizerJson.normalizer, tokenizerJson.pre_tokenizer);
  if (typeof spaces === 'string') return fail(spaces);

  const model = readBpeModel(tokenizerJson.model);
  if (typeof model === 'string') return fail(model);
  if (!model.options.byte_fallback) return fail('BPE without byte_fallback (unknown characters would become unk)');
  if (model.options.ignore_merges) return fail('BPE ignore_merges on a whole-text word');
  const addedTokens = readAddedTokens(tokenizerJson.added_tokens);
  if (typeof addedTokens === 'string') return fail(addedTokens);

  const addedContents = new Set(addedTokens.map((t) => t.content));
  for (const b of BYTE_TOKENS) {
    if (!model.vocab.has(b) && !addedContents.has(b)) return fail(`byte-fallback token ${b} is not in the vocabulary`);
  }
  for (const token of model.vocab.keys()) {
    if (spaceMarkAfterChar(token) >= 0) return fail(`vocabulary token "${token}" has "▁" after another character`);
  }
  for (let rank = 0; rank < model.merges.length; rank++) {
    const [a, b] = model.merges[rank];
    if (spaceMarkAfterChar(a + b) >= 0) return fail(`merge ${rank} ("${a}" "${b}") puts "▁" after another character`);
  }
  return { ok: true, spec: { vocab: model.vocab, merges: model.merges, addedTokens, spaces } };
}
