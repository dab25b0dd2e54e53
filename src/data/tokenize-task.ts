/** Worker-pool task (piscina): tokenize one RawDocs batch; the result buffer is moved, not copied. */
import Piscina from 'piscina';
import { tokenizeBatch, type TokenizeMode } from './tokenize-batch';

export default function task({ dir, payload, mode }: { dir: string; payload: ArrayBuffer; mode: TokenizeMode }): unknown {
  const r = tokenizeBatch(dir, payload, mode);
  return Piscina.move({ payload: r.payload, tokens: r.tokens, docs: r.docs } as never);
}
