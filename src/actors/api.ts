/**
 * The public actor API (`import { defineActor, defineFilter } from 'ptflow'`): what a pipeline step is.
 *
 * A step consumes one edge kind and produces one (`docs` = RawDocs, `tokens` = TokenizedDocs,
 * `batches` = TrainBatch; schemas/). It is inserted into the graph with the YAML `pipeline:` key and
 * runs in its own worker thread with the same flow control and supervision as the built-in actors.
 *
 *   init(options, ctx)            → state           once per start (and again after a restart)
 *   process(batch, state, ctx)    → batches out     one Arrow RecordBatch in; zero, one or many out
 *   flush(state, ctx)             → batches out     at end of input
 *   snapshot(state) / restore(snapshot, options, ctx)   for stateful steps (see docs/actors.md)
 *
 * `defineFilter` is the short form for a document filter: `keep(text, doc, state)` returns true to keep,
 * or a reason (a short word) to drop; the step counts `dropped_<reason>`, as datatrove's filters do.
 */
import type { RecordBatch } from 'apache-arrow';
import type { z } from 'zod';

/** The kinds of edge a step can sit on. */
export type EdgeKind = 'docs' | 'tokens' | 'batches';
export const EDGE_KINDS: readonly EdgeKind[] = ['docs', 'tokens', 'batches'];

/** JSON data (snapshots must be JSON: they are stored in checkpoints). */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** What a step's functions may return as output: nothing, one batch, or several (or a promise of it). */
export type StepOutput = RecordBatch | readonly RecordBatch[] | null | undefined | void;

export interface ActorContext {
  /** The step's name in the graph (e.g. `gopher_quality`, or `my_filter#1` for a second worker). */
  readonly actor: string;
  /** 0 on first start, n after the n-th restart. */
  readonly attempt: number;
  /** Index of this worker among the step's `workers` (0-based), and how many there are. */
  readonly worker: number;
  readonly workers: number;
  /** Adds `n` to the counter `key` (reported in telemetry and pipeline_stats.json). */
  count(key: string, n?: number): void;
  /**
   * Records one dropped document: counts `dropped_<reason>` and, with `exclusion_dir` set, writes the
   * document with its reason to the exclusion file. (A filter defined with `defineFilter` does this itself.)
   */
  drop(reason: string, doc: { id: number | bigint; source: string; text: string }): void;
  log(level: 'info' | 'warn' | 'error', message: string): void;
}

export interface ActorSpec<O, S> {
  /** Name used in the YAML (`actor: <name>` for a built-in) and in telemetry. */
  name: string;
  /** Edge kind consumed. */
  input: EdgeKind;
  /** Edge kind produced. */
  output: EdgeKind;
  /** Options schema (zod); YAML `options:` is parsed with it and errors name the field. */
  options?: z.ZodType<O>;
  /** One line on what the step does (shown in docs and errors). */
  description?: string;
  /**
   * May several instances (`workers: n`) share the batches? Default: yes unless the actor has
   * snapshot or flush. A step whose state spans batches (a dedup) says false. An actor with flush is
   * never run with workers > 1 (each instance would flush part of the state).
   */
  parallel?: boolean;
  init?(options: O, ctx: ActorContext): S | Promise<S>;
  process(batch: RecordBatch, state: S, ctx: ActorContext): StepOutput | Promise<StepOutput>;
  flush?(state: S, ctx: ActorContext): StepOutput | Promise<StepOutput>;
  /** JSON state after the last batch processed (what `restore` gets back after a restart or resume). */
  snapshot?(state: S): Json;
  restore?(snapshot: Json, options: O, ctx: ActorContext): S | Promise<S>;
}

/** A defined actor: the spec plus a brand the loader recognises (a module's default export). */
export interface ActorDefinition<O = unknown, S = unknown> extends ActorSpec<O, S> {
  readonly __ptflowActor: 1;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

export function defineActor<O = Record<string, never>, S = undefined>(spec: ActorSpec<O, S>): ActorDefinition<O, S> {
  if (typeof spec !== 'object' || spec === null) throw new TypeError('defineActor: expected an object');
  if (typeof spec.name !== 'string' || !NAME.test(spec.name)) throw new TypeError(`defineActor: name ${JSON.stringify(spec.name)} must be a word (letters, digits, _ . -)`);
  for (const k of ['input', 'output'] as const) {
    if (!EDGE_KINDS.includes(spec[k])) throw new TypeError(`defineActor ${spec.name}: ${k} must be one of ${EDGE_KINDS.join(', ')}, got ${JSON.stringify(spec[k])}`);
  }
  if (typeof spec.process !== 'function') throw new TypeError(`defineActor ${spec.name}: process must be a function`);
  if ((spec.snapshot === undefined) !== (spec.restore === undefined)) {
    throw new TypeError(`defineActor ${spec.name}: snapshot and restore go together (define both or neither)`);
  }
  return Object.freeze({ ...spec, __ptflowActor: 1 as const });
}

export function isActorDefinition(v: unknown): v is ActorDefinition {
  return typeof v === 'object' && v !== null && (v as { __ptflowActor?: unknown }).__ptflowActor === 1;
}

/** One document as a filter sees it. */
export interface FilterDoc {
  id: bigint;
  source: string;
  text: string;
}

export interface FilterSpec<O, S> {
  name: string;
  options?: z.ZodType<O>;
  description?: string;
  init?(options: O, ctx: ActorContext): S | Promise<S>;
  /** true = keep; a string = drop, for that reason (counted as `dropped_<reason>`); false = drop ("filtered"). */
  keep(text: string, doc: FilterDoc, state: S): boolean | string;
  snapshot?(state: S): Json;
  restore?(snapshot: Json, options: O, ctx: ActorContext): S | Promise<S>;
}

/** Marks a docs → docs actor built by `defineFilter` (the runner gives it the fast path). */
export interface FilterDefinition<O = unknown, S = unknown> extends ActorDefinition<O, S> {
  readonly keepDoc: FilterSpec<O, S>['keep'];
}

export function defineFilter<O = Record<string, never>, S = undefined>(spec: FilterSpec<O, S>): FilterDefinition<O, S> {
  if (typeof spec?.keep !== 'function') throw new TypeError(`defineFilter ${spec?.name}: keep must be a function`);
  const base = defineActor<O, S>({
    name: spec.name,
    input: 'docs',
    output: 'docs',
    options: spec.options,
    description: spec.description,
    init: spec.init,
    snapshot: spec.snapshot,
    restore: spec.restore,
    // The runner filters documents itself (see src/actors/filter-step.ts); process is never called.
    process: () => {
      throw new Error(`filter ${spec.name}: process is run by ptflow`);
    },
  });
  return Object.freeze({ ...base, keepDoc: spec.keep });
}

export function isFilterDefinition(v: ActorDefinition): v is FilterDefinition {
  return typeof (v as { keepDoc?: unknown }).keepDoc === 'function';
}
