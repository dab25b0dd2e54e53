/**
 * The `pipeline:` steps on the documents edge, run in this thread one after another: what `ptflow
 * prepare` does to the documents of its slice before tokenizing them (src/cache/build-filtered.ts).
 * Each step runs through the same StepRunner as its worker thread in `ptflow train`, so it behaves the
 * same: contract checks, counters, exclusion files.
 *
 *   docsChainOrder(steps) → the docs steps in the order the graph runs them (after:/before: anchors)
 *   const chain = await StepChain.open(steps, { exclusionSuffix, log });
 *   await chain.process(rawDocsBytes) → RawDocs bytes out (zero, one or many);  await chain.flush();  await chain.close()
 */
import { insertSteps } from '../pipeline/insert-steps';
import type { ActorNode, PipelineGraph } from '../pipeline/graph';
import { createExclusionWriter, type ExclusionWriter } from './exclusions';
import type { ResolvedStep } from './resolve';
import { StepRunner, type StepCounts } from './step-runner';

/** The two built-in actors around the documents edge, as the graph has them (only their ports matter here). */
function docsEdgeGraph(): PipelineGraph {
  const node = (name: string, inputs: string[], outputs: string[]): ActorNode => ({
    name, module: '', params: null, inputs, outputs, maxRestarts: 0,
    kinds: { ...Object.fromEntries(inputs.map((p) => [`in:${p}`, 'docs' as const])), ...Object.fromEntries(outputs.map((p) => [`out:${p}`, 'docs' as const])) },
  });
  const shard = node('DatasetShardActor', [], ['docs']);
  const tokenizer = node('TokenizerActor', ['docs'], []);
  return {
    actors: [shard, tokenizer],
    edges: [{ from: { actor: shard.name, port: 'docs' }, to: { actor: tokenizer.name, port: 'docs' }, schema: 'RawDocs', kind: 'docs', window: 1, byteBudget: Infinity }],
  };
}

/** The steps (all on the documents edge) in the order documents pass through them in `ptflow train`. */
export function docsChainOrder(steps: readonly ResolvedStep[]): ResolvedStep[] {
  const notDocs = steps.find((s) => s.def.input !== 'docs');
  if (notDocs) throw new Error(`internal: ${notDocs.where} is not a documents step`);
  const g = insertSteps(docsEdgeGraph(), steps);
  const byName = new Map(steps.map((s) => [s.name, s]));
  const order: ResolvedStep[] = [];
  for (let at = 'DatasetShardActor'; ; ) {
    const next = g.edges.find((e) => e.from.actor === at)?.to.actor;
    if (next === undefined || next === 'TokenizerActor') break;
    order.push(byName.get(next)!);
    at = next;
  }
  return order;
}

export interface StepChainOptions {
  /** Appended to each step's exclusion file name (one file per prepare rank), '' for none. */
  exclusionSuffix: string;
  log(level: 'info' | 'warn' | 'error', message: string): void;
}

export class StepChain {
  private constructor(
    readonly steps: readonly ResolvedStep[],
    private readonly runners: StepRunner[],
    private readonly exclusions: (ExclusionWriter | null)[],
  ) {}

  static async open(steps: readonly ResolvedStep[], o: StepChainOptions): Promise<StepChain> {
    const ordered = docsChainOrder(steps);
    const runners: StepRunner[] = [];
    const exclusions: (ExclusionWriter | null)[] = [];
    for (const s of ordered) {
      const ex = s.exclusionDir ? await createExclusionWriter(s.exclusionDir, s.name + o.exclusionSuffix) : null;
      const r = new StepRunner(s.def, s.parsedOptions, {
        where: s.where, actor: s.name, worker: 0, workers: 1, exclusions: ex,
        log: (level, message) => o.log(level, `${s.name}: ${message}`),
        attempt: () => 0,
      });
      await r.start();
      runners.push(r);
      exclusions.push(ex);
    }
    return new StepChain(ordered, runners, exclusions);
  }

  /** One RawDocs message through every step. */
  async process(payload: ArrayBuffer): Promise<ArrayBuffer[]> {
    return this.from(0, [payload]);
  }

  /** End of input: each step's flush, its output through the steps after it. */
  async flush(): Promise<ArrayBuffer[]> {
    const out: ArrayBuffer[] = [];
    for (let i = 0; i < this.runners.length; i++) {
      const flushed = await this.runners[i].flush();
      this.exclusions[i]?.commit();
      out.push(...(await this.from(i + 1, flushed)));
    }
    return out;
  }

  counts(): Record<string, StepCounts> {
    return Object.fromEntries(this.steps.map((s, i) => [s.name, { ...this.runners[i].counts }]));
  }

  async close(): Promise<void> {
    for (const ex of this.exclusions) await ex?.close();
  }

  private async from(first: number, payloads: ArrayBuffer[]): Promise<ArrayBuffer[]> {
    let cur = payloads;
    for (let i = first; i < this.runners.length; i++) {
      const next: ArrayBuffer[] = [];
      for (const p of cur) next.push(...(await this.runners[i].process(p)));
      this.exclusions[i]?.commit();
      cur = next;
    }
    return cur;
  }
}

/** "gopher_quality: seen 160, kept 159, dropped_gopher_short 1" */
export function describeCounts(name: string, c: StepCounts): string {
  const rest = Object.keys(c).filter((k) => k !== 'seen' && k !== 'kept').sort();
  return `${name}: seen ${c.seen}, kept ${c.kept}${rest.map((k) => `, ${k} ${c[k]}`).join('')}`;
}
