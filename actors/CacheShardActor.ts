/**
 * CacheShardActor: loads a tokenized cache (`tokenized_path`, written by `ptflow prepare`) into the
 * collator — the in-memory path, used with PTFLOW_CACHE_READ=memory (runs read the cache by offset
 * otherwise: CacheBlockActor). Reads the cache's Arrow parts in index order, one record batch at a time, and
 * emits TokenizedDocs batches straight to CollatorActor (no reading or tokenizing of the datasets):
 * validation documents first, then training documents, each batch tagged with its split like
 * TokenizerActor's output. With `packing: false` each document becomes `bos + text + eos` truncated to
 * cutoff_len (`truncateIds`, the same ids TokenizerActor produces).
 */
import path from 'node:path';
import type { JsonValue } from '../schemas/ports';
import { encodeTokenizedDocs } from '../schemas/tokenized-docs';
import type { PartFile } from '../schemas/token-cache';
import { readPart } from '../src/cache/arrow-part';
import { checkTokenRange } from '../src/cache/part-checksum';
import { truncateIds } from '../src/data/packer';
import { defineStage } from '../src/pipeline/stage';
import type { DocsMeta } from '../schemas/docs-meta';

export interface CacheShardParams {
  dir: string;
  /** Parts of each split, in order (from index.json). */
  train: PartFile[];
  validation: PartFile[];
  do_train: boolean;
  packing: boolean;
  cutoff_len: number;
  /** BOS id to prepend with `packing: false` (null when the tokenizer adds none). */
  bos_id: number | null;
  /** Documents per TokenizedDocs message. */
  docs_per_batch?: number;
  /** The model's vocab_size: an id outside it is refused naming the part and row (null: not checked). */
  vocab_size?: number | null;
}

export const stage = defineStage<CacheShardParams>(async (ctx) => {
  const p = ctx.params;
  const out = ctx.output('tokens');
  const perBatch = p.docs_per_batch ?? 256;
  const counts = { train: 0, eval: 0 };

  const send = async (split: DocsMeta['split'], parts: PartFile[]): Promise<void> => {
    let first = 0;
    for (const part of parts) {
      let row = 0;
      for await (const docs of readPart(path.join(p.dir, part.file), part)) {
        if (p.vocab_size) checkTokenRange(path.join(p.dir, part.file), docs, row, p.vocab_size);
        row += docs.length;
        for (let i = 0; i < docs.length; i += perBatch) {
          let chunk = docs.slice(i, i + perBatch);
          if (!p.packing) chunk = chunk.map((ids) => truncateIds(ids, p.cutoff_len, p.bos_id ?? undefined));
          const meta: DocsMeta = { split, first, count: chunk.length };
          await out.send(encodeTokenizedDocs(chunk.map((_, k) => first + k), chunk), meta as unknown as JsonValue);
          first += chunk.length;
        }
      }
    }
    counts[split] = first;
  };
  await send('eval', p.validation);
  if (p.do_train) await send('train', p.train);
  out.end({ train_docs: counts.train, eval_docs: counts.eval });
  return { train_docs: counts.train, eval_docs: counts.eval };
});
