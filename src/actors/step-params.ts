/**
 * What the main thread hands a step's worker (StepActor): plain data, so it crosses the thread
 * boundary as it is. The options are the YAML's, parsed again by the actor's schema in the worker
 * (a schema may transform values into things a thread cannot be sent).
 */
import type { EdgeKind, Json } from './api';
import type { ActorRef } from './load';
import type { JsonValue } from '../../schemas/ports';

export interface StepParams {
  ref: ActorRef;
  /** `options:` as written in the YAML. */
  options: unknown;
  input: EdgeKind;
  output: EdgeKind;
  /** "pipeline step 'gopher_quality' (cfg.yaml:14)": how errors name the step. */
  where: string;
  exclusion_dir: string | null;
  /** File name inside exclusion_dir (one per step instance). */
  exclusion_file: string;
  worker: number;
  workers: number;
  /** A resumed run: the step's snapshot from the checkpoint's cursor (src/actors/step-snapshots.ts). */
  resume_snapshot?: Json;
  /** Batches edge, a resumed run: the cursor before the first input micro-batch (src/actors/step-snapshots.ts resumeAtStep). */
  resume_before?: JsonValue;
  /** Batches edge, a run resumed in the middle of this step's split: the parts of its first input to drop (trained on already). */
  resume_skip?: number;
}
