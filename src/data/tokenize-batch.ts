/**
 * Tokenizes one RawDocs batch into a TokenizedDocs batch (each document = text + eos token, no other
 * special tokens — LLaMA-Factory's pre-training preprocessing). Used inline by TokenizerActor and as
 * the task of its worker pool; the tokenizer is loaded once per thread.
 */
import { decodeRawDocs } from '../../schemas/raw-docs';
import { encodeTokenizedDocs } from '../../schemas/tokenized-docs';
import { truncateDoc } from './packer';
import { loadTokenizer, type Tokenizer } from './tokenizer';

/** `packing: false` documents are `bos + text + eos`, truncated to cutoff_len (LLaMA-Factory). */
export interface TokenizeMode {
  packing: boolean;
  cutoffLen: number;
}

let cached: { dir: string; tok: Tokenizer } | null = null;

export function tokenizerFor(dir: string): Tokenizer {
  if (!cached || cached.dir !== dir) cached = { dir, tok: loadTokenizer(dir) };
  return cached.tok;
}

export function tokenizeBatch(dir: string, payload: ArrayBuffer, mode: TokenizeMode): { payload: ArrayBuffer; tokens: number; docs: number } {
  const tok = tokenizerFor(dir);
  const docs = decodeRawDocs(payload);
  const ids = docs.texts.map((t: string) => (mode.packing ? tok.encodeDoc(t) : truncateDoc(t, tok, mode.cutoffLen)));
  let tokens = 0;
  for (const a of ids) tokens += a.length;
  return { payload: encodeTokenizedDocs(docs.docIds, ids), tokens, docs: ids.length };
}
