/**
 * The `pipeline:` steps as a checkpoint's data settings record them (src/train/data-settings.ts): a
 * step changes the documents, tokens or micro-batches the trainer gets, so a resume with other steps
 * would not continue the data of the run that wrote the checkpoint.
 *
 *   pipelineSettingsOf(steps)            → one record per step, in YAML order
 *   diffPipelineSettings(saved, now)     → "pipeline step 'x' options changed (…)", … (empty: the same)
 *   hasBatchesStep(steps)                → a step on the batches edge (it may drop or split micro-batches)
 *
 * A step is its name, its actor (a built-in by name; a module by its path and the SHA-256 of its bytes
 * and of the files of its own it imports: src/actors/load.ts), its options after the actor's schema, where it sits
 * (`after:` / `before:`), the edges it reads and writes, and `workers`. `workers` is recorded but not
 * compared: more instances are allowed only for stateless steps, whose results go on in input order
 * (actors/StepActor.ts), so it does not change the data (as tokenizer_workers does not). A moved module
 * with the same bytes is the same step.
 */
import { z } from 'zod';
import { moduleSourceHash } from '../actors/load';
import type { ResolvedStep } from '../actors/resolve';
import { canonical, optionChanges } from '../cache/fingerprint';

const edge = z.enum(['docs', 'tokens', 'batches']);

export const pipelineStepSettingSchema = z.object({
  name: z.string(),
  /** The actor's own name (`defineActor({ name })`). */
  actor: z.string(),
  /** 'builtin', or the module's absolute path. */
  module: z.string(),
  /** 'builtin', or `sha256:<hex>` of the module's source (moduleSourceHash). */
  source: z.string(),
  /** The options after the actor's schema (defaults filled in), as JSON. */
  options: z.unknown(),
  /** "before TrainerActor", "after DatasetShardActor", … */
  at: z.string(),
  input: edge,
  output: edge,
  workers: z.number().int(),
});
export type PipelineStepSetting = z.infer<typeof pipelineStepSettingSchema>;

export function pipelineSettingsOf(steps: readonly ResolvedStep[]): PipelineStepSetting[] {
  return [...steps].sort((a, b) => a.index - b.index).map((s) => ({
    name: s.name,
    actor: s.def.name,
    module: s.ref.kind === 'builtin' ? 'builtin' : s.ref.file,
    source: s.ref.kind === 'builtin' ? 'builtin' : moduleSourceHash(s.ref.file),
    options: JSON.parse(JSON.stringify(s.parsedOptions, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x)) ?? 'null') as unknown,
    at: 'after' in s.anchor ? `after ${s.anchor.after}` : `before ${s.anchor.before}`,
    input: s.def.input,
    output: s.def.output,
    workers: s.workers,
  }));
}

const short = (source: string): string => (source.startsWith('sha256:') ? source.slice(0, 19) : source);
const actorOf = (p: PipelineStepSetting): string => (p.module === 'builtin' ? p.actor : `${p.actor} from ${p.module}`);

/** What changed between the steps a checkpoint was written with and the current ones, each naming its step. */
export function diffPipelineSettings(saved: readonly PipelineStepSetting[], now: readonly PipelineStepSetting[]): string[] {
  const out: string[] = [];
  const before = new Map(saved.map((p) => [p.name, p]));
  const after = new Set(now.map((p) => p.name));
  for (const p of now) {
    const old = before.get(p.name);
    if (!old) {
      out.push(`pipeline step '${p.name}' (${actorOf(p)}) was added`);
      continue;
    }
    if (old.actor !== p.actor || (old.source === 'builtin') !== (p.source === 'builtin')) {
      out.push(`pipeline step '${p.name}' runs ${actorOf(p)}, the checkpoint's run ran ${actorOf(old)}`);
    } else if (old.source !== p.source) {
      out.push(`pipeline step '${p.name}': the actor module's source changed (${p.module}: ${short(old.source)} → ${short(p.source)})`);
    }
    if (canonical(old.options) !== canonical(p.options)) out.push(`pipeline step '${p.name}' options changed (${optionChanges(old.options, p.options)})`);
    if (old.at !== p.at) out.push(`pipeline step '${p.name}' moved (${old.at} → ${p.at})`);
  }
  for (const p of saved) if (!after.has(p.name)) out.push(`pipeline step '${p.name}' (${actorOf(p)}) was removed`);
  if (out.length === 0 && saved.map((p) => p.name).join('\0') !== now.map((p) => p.name).join('\0')) {
    out.push(`pipeline steps run in another order (${saved.map((p) => p.name).join(', ')} → ${now.map((p) => p.name).join(', ')})`);
  }
  return out;
}

export function hasBatchesStep(steps: readonly Pick<PipelineStepSetting, 'input'>[]): boolean {
  return steps.some((s) => s.input === 'batches');
}
