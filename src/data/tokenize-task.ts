/**
 * Worker-pool task (piscina) of TokenizerActor and `ptflow prepare`: tokenize one RawDocs batch with
 * `tokenizeBatch`. The result's buffer is moved to the caller, not copied: piscina transfers what
 * `transferableSymbol` lists and delivers `valueSymbol`.
 */
import Piscina from 'piscina';
import { tokenizeBatch, type TokenizeMode } from './tokenize-batch';

export interface TokenizeTaskResult {
  payload: ArrayBuffer;
  tokens: number;
  docs: number;
}

export default function task({ dir, payload, mode }: { dir: string; payload: ArrayBuffer; mode: TokenizeMode }): unknown {
  const r = tokenizeBatch(dir, payload, mode);
  const value: TokenizeTaskResult = { payload: r.payload, tokens: r.tokens, docs: r.docs };
  return Piscina.move({ [Piscina.transferableSymbol]: [r.payload], [Piscina.valueSymbol]: value } as never);
}
