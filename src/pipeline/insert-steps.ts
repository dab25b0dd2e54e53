/**
 * Inserts the YAML `pipeline:` steps into a graph, in list order, each at a named edge:
 *
 *   after: X    on X's output edge (CollatorActor: its `train` output), after the steps already put there
 *   before: Y   on Y's input edge (TrainerActor: its `train` input), after the steps already put there
 *
 * X / Y is a built-in actor or a step listed earlier. A step consumes and produces the kind its edge
 * carries (docs / tokens / batches). Errors name the step and its YAML line.
 */
import type { EdgeKind, Json } from '../actors/api';
import type { ResolvedStep } from '../actors/resolve';
import type { StepParams } from '../actors/step-params';
import { resumeAtStep, stepSnapshotsOf } from '../actors/step-snapshots';
import type { JsonValue } from '../../schemas/ports';
import { PtflowError } from '../errors';
import { DATA_ACTOR_RESTARTS } from '../workflow/default-graph';
import { actorNode, connect, declareActor, type ActorDecl } from './declare';
import { validateGraph, type ActorNode, type Edge, type PipelineGraph } from './graph';

const stepDecls = new Map<EdgeKind, ActorDecl<StepParams>>();

/** StepActor declared on edges of `kind`. */
export function stepActor(kind: EdgeKind): ActorDecl<StepParams> {
  let d = stepDecls.get(kind);
  if (!d) {
    d = declareActor<StepParams>({ name: 'StepActor', module: 'actors/StepActor', inputs: { in: kind }, outputs: { out: kind }, maxRestarts: DATA_ACTOR_RESTARTS });
    stepDecls.set(kind, d);
  }
  return d;
}

/**
 * The graph with `steps` inserted (the input graph is not changed). `resume`: the data cursor of the
 * checkpoint the run resumes from, whose step snapshots (and split, src/actors/step-snapshots.ts) the
 * steps start from.
 */
export function insertSteps(graph: PipelineGraph, steps: readonly ResolvedStep[], laterNames: readonly string[] = [], resume: JsonValue = null): PipelineGraph {
  const snapshots = stepSnapshotsOf(resume);
  const actors = [...graph.actors];
  let edges = [...graph.edges];
  const byName = new Map(actors.map((a) => [a.name, a]));
  /** Where the next step anchored at X goes: the last step placed there. */
  const tailAfter = new Map<string, string>();
  const laterSteps = new Set([...laterNames, ...steps.map((s) => s.name)]);

  steps.forEach((s, i) => {
    if (byName.has(s.name)) throw new PtflowError(`${s.where}: the graph already has an actor named '${s.name}'; give the step another name: key`, 2);
    const target = 'after' in s.anchor ? s.anchor.after : s.anchor.before;
    const field = 'after' in s.anchor ? 'after' : 'before';
    if (target === s.name) throw new PtflowError(`${s.where}: ${field}: '${target}' is the step itself (that would be a cycle)`, 2);
    if (!byName.has(target)) {
      const later = steps.slice(i + 1).some((x) => x.name === target) || laterSteps.has(target);
      const hint = later
        ? `'${target}' is a step listed later: a step can only be placed relative to built-in actors or steps listed before it`
        : `no actor is named '${target}'; the graph has ${[...byName.keys()].join(', ')}`;
      throw new PtflowError(`${s.where}: ${field}: ${hint}`, 2);
    }
    let edge: Edge;
    if ('after' in s.anchor) {
      const from = tailAfter.get(target) ?? target;
      edge = pickEdge(edges.filter((e) => e.from.actor === from), (e) => e.from.port, s, `${from} has no output edge to insert after`);
    } else {
      const into = edges.filter((e) => e.to.actor === target);
      edge = pickEdge(into, (e) => e.to.port, s, `${target} has no input edge to insert before`);
    }
    const kind = edge.kind;
    if (kind === undefined) throw new PtflowError(`${s.where}: the edge ${edge.from.actor} → ${edge.to.actor} has no declared kind`, 2);
    if (s.def.input !== kind || s.def.output !== kind) {
      throw new PtflowError(
        `${s.where}: actor '${s.def.name}' consumes ${s.def.input} and produces ${s.def.output}, but the edge ${edge.from.actor} → ${edge.to.actor} ` +
          `carries ${kind} (a step must consume and produce its edge's kind: docs before TokenizerActor, tokens before CollatorActor, batches before TrainerActor)`,
        2,
      );
    }
    const node = actorNode(stepActor(kind), stepParams(s, kind, snapshots[s.name]), s.name);
    const from = byName.get(edge.from.actor)!;
    const to = byName.get(edge.to.actor)!;
    edges = edges.filter((e) => e !== edge);
    edges.push(connect(from, edge.from.port, node, 'in', edge.window, edge.byteBudget), connect(node, 'out', to, edge.to.port, edge.window, edge.byteBudget));
    actors.splice(actors.indexOf(to), 0, node);
    byName.set(s.name, node);
    if ('after' in s.anchor) tailAfter.set(target, s.name);
  });
  const g = { actors, edges };
  validateGraph(g);
  if (resume !== null) {
    const chain = batchesChain(g, new Set(steps.map((s) => s.name)));
    for (const name of chain) {
      const node = byName.get(name)!;
      const at = resumeAtStep(resume, chain, name);
      node.params = { ...(node.params as StepParams), resume_before: at.before, resume_skip: at.skip } satisfies StepParams;
    }
  }
  return g;
}

/** The steps on the batches edge into TrainerActor, upstream first. */
function batchesChain(g: PipelineGraph, stepNames: ReadonlySet<string>): string[] {
  const chain: string[] = [];
  let into = g.edges.find((e) => e.to.actor === 'TrainerActor' && e.to.port === 'train');
  while (into !== undefined && stepNames.has(into.from.actor)) {
    const step = into.from.actor;
    chain.unshift(step);
    into = g.edges.find((e) => e.to.actor === step);
  }
  return chain;
}

function pickEdge(cands: Edge[], port: (e: Edge) => string, s: ResolvedStep, none: string): Edge {
  if (cands.length === 0) throw new PtflowError(`${s.where}: ${none}`, 2);
  if (cands.length === 1) return cands[0];
  const train = cands.find((e) => port(e) === 'train');
  if (train) return train;
  throw new PtflowError(`${s.where}: ambiguous: ${cands.map((e) => `${e.from.actor}.${e.from.port} → ${e.to.actor}.${e.to.port}`).join(', ')}`, 2);
}

function stepParams(s: ResolvedStep, kind: EdgeKind, resume: Json | undefined): StepParams {
  return {
    ref: s.ref, options: s.options, input: kind, output: kind, where: s.where,
    exclusion_dir: s.exclusionDir, exclusion_file: s.name, worker: 0, workers: s.workers,
    ...(resume !== undefined ? { resume_snapshot: resume } : {}),
  };
}

/** Names of the nodes of `g` (for messages). */
export function actorNames(g: PipelineGraph): string[] {
  return g.actors.map((a: ActorNode) => a.name);
}
