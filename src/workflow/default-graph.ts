/**
 * The default pipeline graph of `ptflow train`, declared actor by actor (src/pipeline/declare.ts: each
 * actor's module, the kind of each port and its parameter type):
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
 * The same graph serves map mode without tokenized_path (the default for `streaming: false` without
 * `pipeline:` steps): CacheBlockActor first builds the run's own cache (src/cache/run-cache.ts).
 *
 * The YAML `pipeline:` steps are inserted into this graph afterwards (src/pipeline/insert-steps.ts).
 * Edge windows and byte budgets come from the config (`prefetch_batches`, `prefetch_bytes`).
 */
import type { CacheBlockParams } from '../../actors/CacheBlockActor';
import type { CacheShardParams } from '../../actors/CacheShardActor';
import type { CollatorParams } from '../../actors/CollatorActor';
import type { ShardParams } from '../../actors/DatasetShardActor';
import type { EvalOnlyParams } from '../../actors/EvaluatorActor';
import type { TokenizerParams } from '../../actors/TokenizerActor';
import type { TrainerParams } from '../../actors/TrainerActor';
import { actorNode, connect, declareActor } from '../pipeline/declare';
import type { Edge, PipelineGraph } from '../pipeline/graph';

/** Restarts allowed to a data actor that throws before the run stops with its error. */
export const DATA_ACTOR_RESTARTS = 3;

export const DatasetShardActor = declareActor<ShardParams>({
  name: 'DatasetShardActor', module: 'actors/DatasetShardActor', inputs: {}, outputs: { docs: 'docs' }, maxRestarts: DATA_ACTOR_RESTARTS,
});
export const TokenizerActor = declareActor<TokenizerParams>({
  name: 'TokenizerActor', module: 'actors/TokenizerActor', inputs: { docs: 'docs' }, outputs: { tokens: 'tokens' }, maxRestarts: DATA_ACTOR_RESTARTS,
});
export const CacheShardActor = declareActor<CacheShardParams>({
  name: 'CacheShardActor', module: 'actors/CacheShardActor', inputs: {}, outputs: { tokens: 'tokens' }, maxRestarts: 0,
});
export const CacheBlockActor = declareActor<CacheBlockParams>({
  name: 'CacheBlockActor', module: 'actors/CacheBlockActor', inputs: {}, outputs: { train: 'batches', eval: 'batches' }, maxRestarts: DATA_ACTOR_RESTARTS,
});
export const CollatorActor = declareActor<CollatorParams>({
  name: 'CollatorActor', module: 'actors/CollatorActor', inputs: { tokens: 'tokens' }, outputs: { train: 'batches', eval: 'batches' }, maxRestarts: DATA_ACTOR_RESTARTS,
});
export const TrainerActor = declareActor<TrainerParams>({
  name: 'TrainerActor', module: 'actors/TrainerActor', inputs: { train: 'batches', eval: 'batches' }, outputs: {}, maxRestarts: 0,
});
export const EvaluatorActor = declareActor<EvalOnlyParams>({
  name: 'EvaluatorActor', module: 'actors/EvaluatorActor', inputs: { eval: 'batches' }, outputs: {}, maxRestarts: 0,
});

export interface DefaultGraphParams {
  shard: ShardParams;
  tokenizer: TokenizerParams;
  collator: CollatorParams;
  /** Training run: the trainer's parameters; eval-only: null (EvaluatorActor runs instead). */
  trainer: TrainerParams | null;
  evaluator: EvalOnlyParams | null;
  /** CacheShardActor params: read a tokenized cache instead of reading + tokenizing the datasets. */
  cache?: CacheShardParams | null;
  /** CacheBlockActor params: train from the cache's blocks read by offset (replaces the cache shard and the collator). */
  blocks?: CacheBlockParams | null;
  prefetchBatches: number;
  prefetchBytes: number;
}

const DOC_WINDOW = 4;
const EVAL_WINDOW = 16;

export function defaultGraph(p: DefaultGraphParams): PipelineGraph {
  const bytes = p.prefetchBytes;
  // The node that makes TrainBatch messages: the collator, or the cache's block reader.
  const collator = p.blocks ? actorNode(CacheBlockActor, p.blocks) : actorNode(CollatorActor, p.collator);
  if (p.trainer === null) collator.outputs = ['eval']; // eval-only: no training batches
  const actors = [collator];
  const edges: Edge[] = [];
  if (p.blocks) {
    // nothing upstream: CacheBlockActor reads the cache itself
  } else if (p.cache) {
    const cache = actorNode(CacheShardActor, p.cache);
    actors.unshift(cache);
    edges.push(connect(cache, 'tokens', collator, 'tokens', DOC_WINDOW, bytes));
  } else {
    const shard = actorNode(DatasetShardActor, p.shard);
    const tokenizer = actorNode(TokenizerActor, p.tokenizer);
    actors.unshift(shard, tokenizer);
    edges.push(connect(shard, 'docs', tokenizer, 'docs', DOC_WINDOW, bytes), connect(tokenizer, 'tokens', collator, 'tokens', DOC_WINDOW, bytes));
  }
  if (p.trainer !== null) {
    const trainer = actorNode(TrainerActor, p.trainer);
    actors.push(trainer);
    edges.push(connect(collator, 'train', trainer, 'train', p.prefetchBatches, bytes), connect(collator, 'eval', trainer, 'eval', EVAL_WINDOW, bytes));
  } else {
    if (p.evaluator === null) throw new Error('default graph: an eval-only run needs the evaluator parameters');
    const evaluator = actorNode(EvaluatorActor, p.evaluator);
    actors.push(evaluator);
    edges.push(connect(collator, 'eval', evaluator, 'eval', EVAL_WINDOW, bytes));
  }
  return { actors, edges };
}
