/**
 * The pipeline as a declared graph: actors (each a stage module run in its own worker thread) and the
 * edges between their named ports. The default graph is built in `default-graph.ts`; custom actors are
 * inserted into it at a named edge. Validation here catches wiring mistakes before any thread starts.
 */
import type { JsonValue } from '../../schemas/ports';

export interface ActorNode {
  name: string;
  /** Module path relative to the package root, e.g. `actors/TokenizerActor` (compiled from dist/). Or an absolute .js path. */
  module: string;
  params: JsonValue;
  inputs: string[];
  outputs: string[];
  /** Times the supervisor may restart it after a failure (data actors); 0 = a failure stops the run. */
  maxRestarts: number;
}

export interface Edge {
  from: { actor: string; port: string };
  to: { actor: string; port: string };
  /** Arrow schema name carried (documentation and checks; see schemas/). */
  schema: string;
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
}
