/**
 * The YAML `pipeline:` list → steps ready to insert into the graph, checked on the main thread before
 * any thread starts: each actor is found and loaded (a module's default export must be an actor), its
 * options pass its schema, names are unique, `workers > 1` only for stateless steps (no snapshot, no
 * flush, not `parallel: false`). Every error names
 * the step, the YAML line and the field.
 *
 * `pipelineFingerprint(steps)` is what the tokenized cache records of the steps `ptflow prepare` runs:
 * each step's name and actor (a module by the SHA-256 of its source and of the files of its own it
 * imports), its options as parsed, and where
 * it sits.
 */
import path from 'node:path';
import type { PipelineStepConfig } from '../config/schema-pipeline';
import { PtflowError } from '../errors';
import type { ActorDefinition } from './api';
import { actorRef, loadActor, moduleSourceHash, type ActorRef } from './load';
import { parseStepOptions } from './options';
import type { PipelineStepPrint } from '../../schemas/token-cache';

export interface ResolvedStep {
  /** The step's node name in the graph. */
  name: string;
  def: ActorDefinition;
  ref: ActorRef;
  /** `options:` as written (the worker parses them again with the actor's schema). */
  options: unknown;
  /** The options after the actor's schema (defaults filled in). */
  parsedOptions: unknown;
  anchor: { after: string } | { before: string };
  workers: number;
  exclusionDir: string | null;
  /** "pipeline step 'gopher_quality' (cfg.yaml:14)". */
  where: string;
  /** Index in the YAML list. */
  index: number;
}

export type WhereFn = (key: string, path?: readonly (string | number)[]) => string;

export function resolvePipeline(steps: readonly PipelineStepConfig[], configPath: string, where: WhereFn): ResolvedStep[] {
  const yamlDir = path.dirname(path.resolve(configPath));
  const out: ResolvedStep[] = [];
  const names = new Map<string, string>();
  steps.forEach((s, i) => {
    const at = (field?: string): string => where('pipeline', field === undefined ? [i] : [i, field]);
    const ref = actorRef(s.actor, yamlDir, `pipeline step ${i + 1} (${at('actor')})`);
    const def = loadActor(ref, `pipeline step ${i + 1} (${at('actor')})`);
    const name = s.name ?? def.name.replace(/[^A-Za-z0-9_]/g, '_');
    const label = `pipeline step '${name}' (${at()})`;
    const prev = names.get(name);
    if (prev !== undefined) {
      throw new PtflowError(`${label}: another step is also named '${name}' (${prev}); give one a name: key`, 2);
    }
    names.set(name, at());
    const parsedOptions = parseStepOptions(def, s.options, (p) => `pipeline step '${name}' (${where('pipeline', [i, 'options', ...p])})`);
    if (s.workers > 1 && !parallelizable(def)) {
      throw new PtflowError(
        `pipeline step '${name}' (${at('workers')}): workers: ${s.workers} needs a stateless actor; '${def.name}' keeps state across batches ` +
          `(${def.parallel === false ? 'parallel: false' : def.snapshot ? 'snapshot/restore' : 'flush'}), which ${s.workers} instances each seeing some of the batches cannot split: run it with workers: 1`,
        2,
      );
    }
    if (s.workers > 1 && def.flush !== undefined) {
      throw new PtflowError(`pipeline step '${name}' (${at('workers')}): workers: ${s.workers} is for actors without flush ('${def.name}' has one, and its instances would each flush part of the state): run it with workers: 1`, 2);
    }
    out.push({
      name, def, ref, options: s.options ?? {}, parsedOptions,
      anchor: s.after !== undefined ? { after: s.after } : { before: s.before! },
      workers: s.workers, exclusionDir: s.exclusion_dir, where: label, index: i,
    });
  });
  return out;
}

/**
 * With a tokenized cache (`tokenized_path`) the documents are read and tokenized by `ptflow prepare`:
 * the steps on the documents edge run there (src/cache/build-filtered.ts) and the cache's fingerprint
 * records them; the training graph gets the other steps only.
 */
export function splitAtCache(steps: readonly ResolvedStep[], tokenizedPath: string | null | undefined): { prepare: ResolvedStep[]; graph: ResolvedStep[] } {
  if (!tokenizedPath) return { prepare: [], graph: [...steps] };
  return { prepare: steps.filter((s) => s.def.input === 'docs'), graph: steps.filter((s) => s.def.input !== 'docs') };
}

/** Several instances may share the work: the actor keeps no state across batches. */
export function parallelizable(def: ActorDefinition): boolean {
  return def.parallel ?? (def.snapshot === undefined && def.flush === undefined);
}

/** What the tokenized cache's fingerprint records of the steps that run before tokenization. */
export function pipelineFingerprint(steps: readonly ResolvedStep[]): PipelineStepPrint[] {
  return steps.map((s) => ({
    name: s.name,
    actor: s.def.name,
    source: s.ref.kind === 'builtin' ? 'builtin' : moduleSourceHash(s.ref.file),
    options: toJson(s.parsedOptions),
    at: 'after' in s.anchor ? `after ${s.anchor.after}` : `before ${s.anchor.before}`,
  }));
}

function toJson(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x)) ?? 'null');
}
