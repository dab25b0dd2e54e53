/**
 * Which `pipeline:` steps a resume cannot put back in the state they had at the checkpoint, and the
 * one warning that says so (src/workflow/train.ts prints it once, before training).
 *
 * A stateless step (src/actors/resolve.ts `parallelizable`) needs no state. A step on the docs or
 * tokens edge of a map-style run meets every document again from the start (the reader re-reads the
 * corpus; a tokenized cache holds what the steps before it kept), so a deterministic step reaches the
 * same state by itself. Everywhere else the step must be restored from the snapshot the checkpoint's
 * cursor holds (src/actors/step-snapshots.ts): a streamed run's docs and tokens steps, and the batches
 * steps of every run (the collator sends the micro-batches from the cursor on). That fails for a step
 * without `snapshot`, for one the checkpoint holds no snapshot of (not in the run that wrote it), and,
 * with several processes, for a batches step unless each rank resumes from its own cursor: each rank's
 * instance sees its own slice, and a checkpoint written by another number of ranks (or by an older
 * ptflow) gives every rank rank 0's.
 */
import type { ActorDefinition, Json } from './api';
import { parallelizable } from './resolve';

export interface ResumeMode {
  streaming: boolean;
  /** Processes training together (data-parallel ranks). */
  worldSize: number;
  /**
   * The data starts again from its beginning to replay a split micro-batch (a split cursor from null,
   * schemas/split-cursor.ts): the steps up to the split hold no snapshot because they start as they did.
   */
  fromStart?: boolean;
  /**
   * The checkpoint holds every rank's cursor: 'own' when each rank resumes from its own (as many ranks
   * as wrote it), 'rank0' when every rank takes rank 0's (another number of ranks; the resume check
   * warns about that itself). Absent: it holds one cursor.
   */
  rankCursors?: 'own' | 'rank0';
}

/** A step as far as this check needs it (a ResolvedStep). */
export interface StepToResume {
  name: string;
  def: ActorDefinition;
}

/** Why `s` does not resume exactly, or null when it does. */
export function inexactReason(s: StepToResume, mode: ResumeMode, snapshots: Readonly<Record<string, Json>>): string | null {
  if (parallelizable(s.def)) return null;
  const batches = s.def.input === 'batches';
  if (!batches && !mode.streaming) return null;
  if (s.def.snapshot === undefined) return 'no snapshot/restore';
  if (!(s.name in snapshots) && !mode.fromStart) return 'the checkpoint holds no snapshot of it';
  if (batches && mode.worldSize > 1 && mode.rankCursors === undefined) return `on the batches edge with ${mode.worldSize} processes, each rank's state differs and the checkpoint holds rank 0's`;
  return null;
}

/** The warning for the steps that do not resume exactly, or null when all do. */
export function inexactResumeWarning(steps: readonly StepToResume[], mode: ResumeMode, snapshots: Readonly<Record<string, Json>>): string | null {
  const inexact = steps.flatMap((s) => {
    const why = inexactReason(s, mode, snapshots);
    return why === null ? [] : [`'${s.name}' (${why})`];
  });
  if (inexact.length === 0) return null;
  return (
    `warning: resuming with stateful pipeline step${inexact.length > 1 ? 's' : ''} ${inexact.join(', ')}, which the checkpoint cannot put back ` +
    'in the state of the checkpoint: the token stream is not guaranteed to match an uninterrupted run.'
  );
}
