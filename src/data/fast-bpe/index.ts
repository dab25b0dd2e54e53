/**
 * Fast byte-level BPE for Hugging Face tokenizer.json files (GPT-2, Llama-3, Qwen2 and
 * cl100k/o200k-style), id-identical to @huggingface/tokenizers with special tokens off.
 *
 *   createFastBpe(tokenizerJson, tokenizerConfig?, opts?)
 *     → { ok: true, encoder: FastBpeEncoder, patternName } | { ok: false, reason }
 *   encoder.encode(text) → Int32Array
 *
 * Unsupported files (other models, normalizers, pre-tokenizers) come back with the reason, so
 * callers can fall back to the generic library.
 */
import { FastBpeEncoder, type FastBpeOptions } from './encoder';
import { analyzeTokenizer } from './spec';

export { analyzeTokenizer, type Analysis, type FastBpeSpec } from './spec';
export { FastBpeEncoder, type FastBpeOptions } from './encoder';

export type FastBpeResult =
  | {
      ok: true;
      encoder: FastBpeEncoder;
      /** Which hand-written scanner splits the text ("gpt2", "llama3", "qwen2"), or "regex". */
      splitter: string;
    }
  | { ok: false; reason: string };

export function createFastBpe(tokenizerJson: unknown, tokenizerConfig: unknown = {}, opts: FastBpeOptions = {}): FastBpeResult {
  const analysis = analyzeTokenizer(tokenizerJson, tokenizerConfig);
  if (!analysis.ok) return analysis;
  const pt = analysis.spec.preTokenizer;
  try {
    const encoder = new FastBpeEncoder(analysis.spec, opts);
    const splitter = pt.kind === 'byte-level' ? 'gpt2' : (pt.patternName ?? 'regex');
    return { ok: true, encoder, splitter };
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
}
