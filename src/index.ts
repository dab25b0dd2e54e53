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
export { contractViolation, docsBatch, readDocs, readTokens, tokensBatch, type Doc, type TokenDoc } from './actors/edges';
export { BUILTIN_ACTORS } from './actors/builtin';
export { runTrain, type TrainRunOptions, type TrainRunResult } from './workflow/train';
export { runPrepare, type PrepareResult } from './workflow/prepare';
export { z } from 'zod';
export type { RecordBatch } from 'apache-arrow';
