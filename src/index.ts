/**
 * ptflow's package entry (`import { defineActor, defineFilter } from 'ptflow'`): the actor API the
 * built-in pipeline steps are written against, the readers / builders of each edge's Arrow batches,
 * and `z` (the zod the options schemas are checked with). See docs/actors.md.
 */
export {
  defineActor,
  defineFilter,
  isActorDefinition,
  EDGE_KINDS,
  type ActorContext,
  type ActorDefinition,
  type ActorSpec,
  type EdgeKind,
  type FilterDefinition,
  type FilterDoc,
  type FilterSpec,
  type Json,
  type StepOutput,
} from './actors/api';
export { contractViolation, docsBatch, readDocs, readTokens, readTrainBatch, tokensBatch, trainBatch, type Doc, type TokenDoc } from './actors/edges';
export type { MicroBatch } from './engine/batch';
export { BUILTIN_ACTORS } from './actors/builtin';
export type { TrainRunOptions, TrainRunResult } from './workflow/train';
export type { PrepareResult } from './workflow/prepare';
export { z } from 'zod';
export type { RecordBatch } from 'apache-arrow';

/** `ptflow train` as a function (loaded on first use: an actor module importing this entry stays light). */
export async function runTrain(...args: Parameters<typeof import('./workflow/train').runTrain>): ReturnType<typeof import('./workflow/train').runTrain> {
  return (await import('./workflow/train')).runTrain(...args);
}

/** `ptflow prepare` as a function (loaded on first use). */
export async function runPrepare(...args: Parameters<typeof import('./workflow/prepare').runPrepare>): ReturnType<typeof import('./workflow/prepare').runPrepare> {
  return (await import('./workflow/prepare')).runPrepare(...args);
}
