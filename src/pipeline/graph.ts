/**
 * The pipeline as a declared graph: actors (each a stage module run in its own worker thread) and the
 * edges between their named ports. Nodes and edges are made with declare.ts (typed parameters, edge
 * kinds); the default graph is built in `src/workflow/default-graph.ts` and the YAML `pipeline:` steps
 * are inserted into it at named edges (`insert-steps.ts`). Validation here catches wiring mistakes
 * (unknown actors or ports, a port connected twice or not at all, a cycle) before any thread starts.
 */
import type { EdgeKind } from '../actors/api';

export interface ActorNode {
  name: string;
  /** Module path relative to the package root, e.g. `actors/TokenizerActor` (compiled from dist/). Or an absolute .js path. */
  module: string;
  /** Handed to the stage as `ctx.params` (structured-cloned into its thread); typed by `actorNode`. */
  params: unknown;
  inputs: string[];
  outputs: string[];
  /** Edge kind of each port, keyed `in:<port>` / `out:<port>` (declare.ts). */
  kinds?: Readonly<Record<string, EdgeKind>>;
  /** Times the supervisor may restart it after a failure (data actors); 0 = a failure stops the run. */
  maxRestarts: number;
}

export interface Edge {
  from: { actor: string; port: string };
  to: { actor: string; port: string };
  /** Arrow schema name carried (documentation and checks; see schemas/). */
  schema: string;
  /** The edge kind (docs / tokens / batches) when declared through declare.ts. */
  kind?: EdgeKind;
  /** Credits the consumer grants: messages buffered at most at its input. */
  window: number;
  /** Unacknowledged bytes allowed in flight (one message may exceed it when alone). */
  byteBudget: number;
}

export interface PipelineGraph {
  actors: ActorNode[];
  edges: Edge[];
}

export function validateGraph(g: PipelineGraph): void {
  const byName = new Map<string, ActorNode>();
  for (const a of g.actors) {
    if (byName.has(a.name)) throw new Error(`pipeline graph: two actors named '${a.name}'`);
    byName.set(a.name, a);
  }
  const used = new Set<string>();
  for (const e of g.edges) {
    const from = byName.get(e.from.actor);
    const to = byName.get(e.to.actor);
    if (!from) throw new Error(`pipeline graph: edge from unknown actor '${e.from.actor}'`);
    if (!to) throw new Error(`pipeline graph: edge to unknown actor '${e.to.actor}'`);
    if (!from.outputs.includes(e.from.port)) throw new Error(`pipeline graph: actor '${from.name}' has no output '${e.from.port}'`);
    if (!to.inputs.includes(e.to.port)) throw new Error(`pipeline graph: actor '${to.name}' has no input '${e.to.port}'`);
    for (const k of [`out:${from.name}.${e.from.port}`, `in:${to.name}.${e.to.port}`]) {
      if (used.has(k)) throw new Error(`pipeline graph: port ${k.slice(k.indexOf(':') + 1)} is connected twice`);
      used.add(k);
    }
    if (!(e.window >= 1)) throw new Error(`pipeline graph: edge ${from.name}.${e.from.port} → ${to.name}.${e.to.port} needs a window ≥ 1`);
  }
  for (const a of g.actors) {
    for (const p of a.inputs) if (!used.has(`in:${a.name}.${p}`)) throw new Error(`pipeline graph: input ${a.name}.${p} is not connected`);
    for (const p of a.outputs) if (!used.has(`out:${a.name}.${p}`)) throw new Error(`pipeline graph: output ${a.name}.${p} is not connected`);
  }
  const cycle = findCycle(g);
  if (cycle) throw new Error(`pipeline graph: cycle ${cycle.join(' → ')}`);
}

/** A cycle of actor names (first repeated last), or null. */
export function findCycle(g: PipelineGraph): string[] | null {
  const next = new Map<string, string[]>();
  for (const e of g.edges) next.set(e.from.actor, [...(next.get(e.from.actor) ?? []), e.to.actor]);
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (a: string): string[] | null => {
    if (state.get(a) === 'done') return null;
    if (state.get(a) === 'open') return [...path.slice(path.indexOf(a)), a];
    state.set(a, 'open');
    path.push(a);
    for (const b of next.get(a) ?? []) {
      const c = visit(b);
      if (c) return c;
    }
    path.pop();
    state.set(a, 'done');
    return null;
  };
  for (const a of g.actors) {
    const c = visit(a.name);
    if (c) return c;
  }
  return null;
}
