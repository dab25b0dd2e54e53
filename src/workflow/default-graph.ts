/**
 * The default pipeline graph of `ptflow train`:
 *
 *   DatasetShardActor ─docs→ TokenizerActor ─tokens→ CollatorActor ─train→ TrainerActor
 *                                                              └────eval→ ┘ (or EvaluatorActor, eval-only)
 *
 * With a tokenized cache (`tokenized_path`, see `ptflow prepare`) CacheShardActor replaces the first two:
 *
 *   CacheShardActor ─tokens→ CollatorActor ─…
 *
 * or, reading the cache's blocks by offset instead of loading them (`blocks`, actors/CacheBlockActor.ts):
 *
 *   CacheBlockActor ─train→ TrainerActor
 *                   └─eval→ ┘
 *
 * Edge windows and byte budgets come from the config (`prefetch_batches`, `prefetch_bytes`).
 */
import type { JsonValue } from '../../schemas/ports';
import type { ActorNode, Edge, PipelineGraph } from '../pipeline/graph';

export interface DefaultGraphParams {
  shard: JsonValue;
  tokenizer: JsonValue;
  collator: JsonValue;
  trainer: JsonValue | null;
  evaluator: JsonValue | null;
  /** CacheShardActor params: read a tokenized cache instead of reading + tokenizing the datasets. */
  cache?: JsonValue | null;
  /** CacheBlockActor params: train from the cache's blocks read by offset (replaces the cache shard and the collator). */
  blocks?: JsonValue | null;
  prefetchBatches: number;
  prefetchBytes: number;
}

const DOC_WINDOW = 4;
/** Restarts allowed to a data actor that throws before the run stops with its error. */
export const DATA_ACTOR_RESTARTS = 3;

function edge(from: string, fromPort: string, to: string, toPort: string, schema: string, window: number, byteBudget: number): Edge {
  return { from: { actor: from, port: fromPort }, to: { actor: to, port: toPort }, schema, window, byteBudget };
}

export function defaultGraph(p: DefaultGraphParams): PipelineGraph {
  const training = p.trainer !== null;
  const cached = p.cache !== undefined && p.cache !== null;
  const sources: ActorNode[] = cached
    ? [{ name: 'CacheShardActor', module: 'actors/CacheShardActor', params: p.cache as JsonValue, inputs: [], outputs: ['tokens'], maxRestarts: 0 }]
    : [
        { name: 'DatasetShardActor', module: 'actors/DatasetShardActor', params: p.shard, inputs: [], outputs: ['docs'], maxRestarts: DATA_ACTOR_RESTARTS },
        { name: 'TokenizerActor', module: 'actors/TokenizerActor', params: p.tokenizer, inputs: ['docs'], outputs: ['tokens'], maxRestarts: DATA_ACTOR_RESTARTS },
      ];
  const byOffset = p.blocks !== undefined && p.blocks !== null;
  const batcher = byOffset ? 'CacheBlockActor' : 'CollatorActor';
  const actors: ActorNode[] = byOffset
    ? [{ name: batcher, module: 'actors/CacheBlockActor', params: p.blocks as JsonValue, inputs: [], outputs: training ? ['train', 'eval'] : ['eval'], maxRestarts: DATA_ACTOR_RESTARTS }]
    : [
        ...sources,
        {
          name: 'CollatorActor', module: 'actors/CollatorActor', params: p.collator, inputs: ['tokens'],
          outputs: training ? ['train', 'eval'] : ['eval'], maxRestarts: DATA_ACTOR_RESTARTS,
        },
      ];
  const edges: Edge[] = byOffset
    ? []
    : cached
    ? [edge('CacheShardActor', 'tokens', 'CollatorActor', 'tokens', 'TokenizedDocs', DOC_WINDOW, p.prefetchBytes)]
    : [
        edge('DatasetShardActor', 'docs', 'TokenizerActor', 'docs', 'RawDocs', DOC_WINDOW, p.prefetchBytes),
        edge('TokenizerActor', 'tokens', 'CollatorActor', 'tokens', 'TokenizedDocs', DOC_WINDOW, p.prefetchBytes),
      ];
  if (training) {
    actors.push({ name: 'TrainerActor', module: 'actors/TrainerActor', params: p.trainer, inputs: ['train', 'eval'], outputs: [], maxRestarts: 0 });
    edges.push(edge(batcher, 'train', 'TrainerActor', 'train', 'TrainBatch', p.prefetchBatches, p.prefetchBytes));
    edges.push(edge(batcher, 'eval', 'TrainerActor', 'eval', 'TrainBatch', 16, p.prefetchBytes));
  } else {
    actors.push({ name: 'EvaluatorActor', module: 'actors/EvaluatorActor', params: p.evaluator, inputs: ['eval'], outputs: [], maxRestarts: 0 });
    edges.push(edge(batcher, 'eval', 'EvaluatorActor', 'eval', 'TrainBatch', 16, p.prefetchBytes));
  }
  return { actors, edges };
}
