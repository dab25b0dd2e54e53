/** Worker-pool task (piscina): tokenize one RawDocs batch; the result buffer is moved, not copied. */
import Piscina from 'piscina';
import { tokenizeBatch } from './tokenize-batch';

export default function task({ dir, payload }: { dir: string; payload: ArrayBuffer }): unknown {
  const r = tokenizeBatch(dir, payload);
  return Piscina.move({ payload: r.payload, tokens: r.tokens, docs: r.docs } as never);
}
