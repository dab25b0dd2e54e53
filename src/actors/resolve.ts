/**
 * The YAML `pipeline:` list → steps ready to insert into the graph, checked on the main thread before
 * any thread starts: each actor is found and loaded (a module's default export must be an actor), its
 * options pass its schema, names are unique, `workers > 1` only for stateless steps. Every error names
 * the step, the YAML line and the field.
 *
 * `pipelineFingerprint(steps)` is what the tokenized cache records of the pipeline: each step's actor
 * (a module by the SHA-256 of its source), its options as parsed, and where it sits.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { PipelineStepConfig } from '../config/schema-pipeline';
import { PtflowError } from '../errors';
import type { ActorDefinition } from './api';
import { actorRef, loadActor, type ActorRef } from './load';
import { parseStepOptions } from './options';

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
      throw new PtflowError(`pipeline step '${name}' (${at('workers')}): workers: ${s.workers} needs a stateless actor; '${def.name}' keeps state across batches, run it with workers: 1`, 2);
    }
    if (s.workers > 1) {
      throw new PtflowError(`pipeline step '${name}' (${at('workers')}): each step runs as one instance; use workers: 1`, 2);
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
 * Steps on the documents edge need the documents: a tokenized cache (`tokenized_path`) has none.
 * `ptflow prepare` does not run pipeline steps yet, so the combination is refused, naming the step.
 */
export function refuseDocStepsWithCache(steps: readonly ResolvedStep[], tokenizedPath: string | null | undefined): void {
  const docs = steps.find((s) => s.def.input === 'docs');
  if (!tokenizedPath || docs === undefined) return;
  throw new PtflowError(
    `${docs.where}: runs on documents, but tokenized_path (${tokenizedPath}) reads documents already tokenized, and ` +
      '`ptflow prepare` does not run pipeline steps yet. Drop tokenized_path, or use steps on tokens / batches only.',
    2,
  );
}

/** Several instances may share the work: the actor keeps no state across batches. */
export function parallelizable(def: ActorDefinition): boolean {
  return def.parallel ?? (def.snapshot === undefined && def.flush === undefined);
}

/** What the tokenized cache's fingerprint records of the steps that run before tokenization. */
export function pipelineFingerprint(steps: readonly ResolvedStep[]): { actor: string; source: string; options: unknown; at: string }[] {
  return steps.map((s) => ({
    actor: s.def.name,
    source: s.ref.kind === 'builtin' ? 'builtin' : `sha256:${createHash('sha256').update(readFileSync(s.ref.file)).digest('hex')}`,
    options: toJson(s.parsedOptions),
    at: 'after' in s.anchor ? `after ${s.anchor.after}` : `before ${s.anchor.before}`,
  }));
}

function toJson(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x)) ?? 'null');
}
