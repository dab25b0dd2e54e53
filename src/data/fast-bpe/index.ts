/**
 * Fast BPE for Hugging Face tokenizer.json files, id-identical to @huggingface/tokenizers with
 * special tokens off: byte-level BPE (GPT-2, Llama-3, Qwen2, cl100k/o200k-style) and
 * SentencePiece-style BPE with byte fallback (Llama-2, Mistral).
 *
 *   createFastBpe(tokenizerJson, tokenizerConfig?, opts?)
 *     → { ok: true, encoder: FastEncoder, splitter } | { ok: false, reason }
 *   encoder.encode(text) → Int32Array
 *
 * Unsupported files (other models, normalizers, pre-tokenizers) come back with the reason, so
 * callers can fall back to the generic library.
 */
import { FastBpeEncoder, type FastBpeOptions } from './encoder';
import { SentencePieceEncoder } from './sp-encoder';
import { analyzeSentencePiece } from './sp-spec';
import { analyzeTokenizer } from './spec';

export { analyzeTokenizer, type Analysis, type FastBpeSpec } from './spec';
export { analyzeSentencePiece, type SentencePieceAnalysis, type SentencePieceSpec } from './sp-spec';
export { FastBpeEncoder, type FastBpeOptions } from './encoder';
export { SentencePieceEncoder } from './sp-encoder';

/** What both encoders offer. */
export interface FastEncoder {
  /** Token ids of `text` without special tokens added around it. */
  encode(text: string): Int32Array;
  /** Drops every cached piece. */
  clearCache(): void;
}

export type FastBpeResult =
  | {
      ok: true;
      encoder: FastEncoder;
      /**
       * How the text is split before merging: a hand-written scanner ("gpt2", "llama3", "qwen2"),
       * the reference's compiled "regex", or "sentencepiece" (cut before "▁" after a character).
       */
      splitter: string;
    }
  | { ok: false; reason: string };

export function createFastBpe(tokenizerJson: unknown, tokenizerConfig: unknown = {}, opts: FastBpeOptions = {}): FastBpeResult {
  const analysis = analyzeTokenizer(tokenizerJson, tokenizerConfig);
  try {
    if (analysis.ok) {
      const pt = analysis.spec.preTokenizer;
      const encoder = new FastBpeEncoder(analysis.spec, opts);
      return { ok: true, encoder, splitter: pt.kind === 'byte-level' ? 'gpt2' : (pt.patternName ?? 'regex') };
    }
    const sp = analyzeSentencePiece(tokenizerJson, tokenizerConfig);
    if (!sp.ok) return { ok: false, reason: `not byte-level BPE (${analysis.reason}); not SentencePiece-style BPE (${sp.reason})` };
    return { ok: true, encoder: new SentencePieceEncoder(sp.spec, opts), splitter: 'sentencepiece' };
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
}
