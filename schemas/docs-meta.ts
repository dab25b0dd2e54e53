/**
 * The JSON meta beside each message on the docs and tokens edges of a map-style run (RawDocs from
 * DatasetShardActor, TokenizedDocs from TokenizerActor or CacheShardActor, passed on by pipeline
 * steps): which split the documents belong to and where they sit in it. A streamed run's messages
 * carry more (StreamDocsMeta, src/data/stream/shard-stream.ts).
 */
export interface DocsMeta {
  split: 'train' | 'eval';
  /** Ordinal (within its split) of the first document in the batch. */
  first: number;
  count: number;
}
