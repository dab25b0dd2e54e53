/**
 * What the tap says about the run in its `tap.hello`: a config summary (never the token), the model's
 * size, the backend and the pipeline graph. The workflow fills it in as it learns them (the graph
 * exists only once the pipeline is built); each client gets what is known when it connects.
 */
import type { TapGraph, TapHelloPayload } from '../../../schemas/telemetry';
import type { LlamaConfig } from '../../engine/model/config';
import type { PipelineGraph } from '../../pipeline/graph';

/** The config keys a person watching a run wants in front of them. */
const SUMMARY_KEYS = [
  'model_name_or_path', 'dataset', 'eval_dataset', 'output_dir', 'finetuning_type', 'train_from_scratch', 'cutoff_len', 'packing',
  'per_device_train_batch_size', 'gradient_accumulation_steps', 'learning_rate', 'lr_scheduler_type', 'num_train_epochs',
  'max_steps', 'logging_steps', 'eval_steps', 'save_steps', 'streaming', 'tokenized_path', 'backend', 'seed',
] as const;

export function configSummary(c: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const s: Record<string, unknown> = {};
  for (const k of SUMMARY_KEYS) if (c[k] !== undefined) s[k] = c[k];
  return s;
}

/** Parameters of a Llama with this config (embeddings and, when untied, lm_head included). */
export function llamaParameterCount(m: LlamaConfig): number {
  const h = m.hiddenSize;
  const q = m.numAttentionHeads * m.headDim;
  const kv = m.numKeyValueHeads * m.headDim;
  const layer = h * q + 2 * h * kv + q * h + 3 * h * m.intermediateSize + 2 * h;
  return m.vocabSize * h * (m.tieWordEmbeddings ? 1 : 2) + m.numHiddenLayers * layer + h;
}

export function tapGraph(g: PipelineGraph): TapGraph {
  return {
    actors: g.actors.map((a) => ({ name: a.name, inputs: [...a.inputs], outputs: [...a.outputs] })),
    edges: g.edges.map((e) => ({ from: `${e.from.actor}.${e.from.port}`, to: `${e.to.actor}.${e.to.port}`, schema: e.schema, window: e.window })),
  };
}

export type HelloInfo = Omit<TapHelloPayload, 'history'>;

/** The mutable description the tap greets clients with. */
export class RunDescription {
  private info: HelloInfo;
  private readonly listeners = new Set<() => void>();

  constructor(command: HelloInfo['command'], config: Readonly<Record<string, unknown>>) {
    this.info = { protocol: 1, command, config: configSummary(config), model_parameters: null, backend: String(config.backend ?? 'auto'), graph: null };
  }

  set(part: Partial<Pick<HelloInfo, 'model_parameters' | 'backend' | 'graph'>>): void {
    this.info = { ...this.info, ...part };
    for (const l of this.listeners) l();
  }

  /** Called after each change (the tap then greets connected clients again). */
  onChange(l: () => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  hello(): HelloInfo {
    return this.info;
  }
}
