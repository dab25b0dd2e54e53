/**
 * Declaring graph actors with typed parameters: `declareActor<P>({ name, module, inputs, outputs })`
 * names a stage module, the edge kind of each of its ports (docs / tokens / batches, as in the public
 * actor API) and the type of its parameters; `actorNode(decl, params)` makes the graph node, checked
 * against that type — no casts between the config and the actor. `connect` makes the edge between two
 * ports, its schema taken from the ports' kind (they must agree).
 */
import type { EdgeKind } from '../actors/api';
import { EDGE_SCHEMA } from '../actors/edges';
import type { ActorNode, Edge } from './graph';

export interface ActorDecl<P> {
  name: string;
  /** Stage module, relative to the package root (compiled from dist/), e.g. `actors/TokenizerActor`. */
  module: string;
  inputs: Readonly<Record<string, EdgeKind>>;
  outputs: Readonly<Record<string, EdgeKind>>;
  /** Restarts the supervisor allows (0 = a failure stops the run). */
  maxRestarts: number;
  /** Phantom: the parameter type `actorNode` checks. */
  readonly params?: P;
}

export function declareActor<P>(d: Omit<ActorDecl<P>, 'params'>): ActorDecl<P> {
  return d;
}

export function actorNode<P>(decl: ActorDecl<P>, params: P, name = decl.name): ActorNode {
  return {
    name,
    module: decl.module,
    params,
    inputs: Object.keys(decl.inputs),
    outputs: Object.keys(decl.outputs),
    kinds: { ...prefixKeys('in:', decl.inputs), ...prefixKeys('out:', decl.outputs) },
    maxRestarts: decl.maxRestarts,
  };
}

function prefixKeys(prefix: string, r: Readonly<Record<string, EdgeKind>>): Record<string, EdgeKind> {
  return Object.fromEntries(Object.entries(r).map(([k, v]) => [prefix + k, v]));
}

/** The edge `from.port → to.port`; its kind is the ports' (which must agree). */
export function connect(from: ActorNode, fromPort: string, to: ActorNode, toPort: string, window: number, byteBudget: number): Edge {
  const out = from.kinds?.[`out:${fromPort}`];
  const inp = to.kinds?.[`in:${toPort}`];
  if (out === undefined || inp === undefined || out !== inp) {
    throw new Error(`pipeline graph: ${from.name}.${fromPort} (${out ?? 'no such output'}) cannot feed ${to.name}.${toPort} (${inp ?? 'no such input'})`);
  }
  return { from: { actor: from.name, port: fromPort }, to: { actor: to.name, port: toPort }, schema: EDGE_SCHEMA[out], kind: out, window, byteBudget };
}
