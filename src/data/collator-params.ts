/**
 * The settings the two collator paths share — in memory (actors/CollatorActor.ts) and streamed
 * (src/data/stream/collator-stream.ts) — and the BOS rule both pack with.
 */

export interface CollatorPackingParams {
  cutoff_len: number;
  packing: boolean;
  neat_packing: boolean;
  add_bos: boolean;
  bos_id: number | null;
  pad_id: number;
  train_batch_size: number;
  eval_batch_size: number;
  train: boolean;
}

/** The id written over each packed block's first token: BOS when the tokenizer adds one, else none. */
export function blockBosId(p: Pick<CollatorPackingParams, 'add_bos' | 'bos_id'>): number | undefined {
  return p.add_bos && p.bos_id !== null ? p.bos_id : undefined;
}
