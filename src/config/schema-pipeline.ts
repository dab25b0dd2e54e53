/**
 * The `pipeline:` key: steps inserted into the default graph at named edges (src/pipeline/insert-steps.ts).
 *
 *   pipeline:
 *     - actor: gopher_quality          # a built-in, or a module path relative to this YAML (.ts, .js, .mjs)
 *       after: DatasetShardActor       # or before: TokenizerActor / CollatorActor / TrainerActor, or a step
 *       options: { min_doc_words: 50 } # checked by the actor's own schema
 *       workers: 2                     # parallel instances of a stateless step, order preserved (default 1)
 *       name: quality                  # optional: the step's name in the graph (default: the actor's)
 *       exclusion_dir: excluded/       # optional: write dropped documents there (.jsonl.zst)
 */
import { z } from 'zod';
import { described } from './fields';

export const pipelineStepSchema = z
  .object({
    actor: z.string({ error: 'must name an actor (a built-in or a module path)' }).min(1, { message: 'must not be empty' }),
    name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: 'must be a word (letters, digits, _)' }).optional(),
    after: z.string().min(1).optional(),
    before: z.string().min(1).optional(),
    options: z.record(z.string(), z.unknown(), { error: 'must be a mapping of option: value' }).nullable().optional(),
    workers: z.number({ error: 'must be an integer' }).int({ message: 'must be an integer' }).min(1, { message: 'must be >= 1' }).default(1),
    exclusion_dir: z.string().min(1).nullable().default(null),
  })
  .strict()
  .refine((s) => (s.after === undefined) !== (s.before === undefined), { message: 'needs exactly one of after: or before: (where the step goes)' });

export type PipelineStepConfig = z.output<typeof pipelineStepSchema>;

export const pipelineField = described(
  z.preprocess((v) => (v === null || v === '' ? [] : v), z.array(pipelineStepSchema, { error: 'must be a list of steps (- actor: …, after: …)' })).default([]),
  { type: 'list of steps', default: [] },
  'Steps inserted into the data pipeline, each `{actor, after | before, options, workers, name, exclusion_dir}`: a built-in ' +
    '(gopher_quality, gopher_repetition, c4_quality, fineweb_quality, exact_dedup, minhash_dedup, identity) or a module path ' +
    'relative to the YAML (.ts/.js/.mjs, default export made with defineActor/defineFilter), inserted after or before ' +
    'DatasetShardActor, TokenizerActor, CollatorActor, TrainerActor or an earlier step; `workers: n` runs n instances of a ' +
    'stateless step on a thread pool, batches sent on in input order. See docs/actors.md.',
);
