/**
 * The whole training configuration: the key groups (model, data, finetuning, training as in
 * LLaMA-Factory's argument classes, plus ptflow's own), the `TrainConfig` type the pipeline
 * consumes, and the key listing behind `ptflow train --help` and the README.
 */
import { z } from 'zod';
import { dataFields } from './schema-data';
import { fieldMeta } from './fields';
import { finetuningFields } from './schema-finetuning';
import { modelFields } from './schema-model';
import { ptflowFields } from './schema-ptflow';
import { trainingFields } from './schema-training';

export const CONFIG_GROUPS = {
  model: modelFields,
  data: dataFields,
  finetuning: finetuningFields,
  training: trainingFields,
  ptflow: ptflowFields,
} as const;

export type ConfigGroup = keyof typeof CONFIG_GROUPS;

/** Every key with its schema: parses one YAML mapping (after unknown keys are removed). */
export const rawConfigSchema = z.object({
  ...modelFields,
  ...dataFields,
  ...finetuningFields,
  ...trainingFields,
  ...ptflowFields,
});

/** The schema's output before derived defaults (lora_alpha, packing, eval_steps, ...) are settled. */
export type RawTrainConfig = z.output<typeof rawConfigSchema>;

/**
 * The validated configuration, keys exactly as in the YAML, every default filled in.
 * Normalised forms: `dataset`, `eval_dataset`, `lora_target`, `freeze_trainable_modules` and
 * `report_to` are lists ("a,b" → ["a","b"]; report_to "none" → []); `interleave_probs` is a
 * number list; `prefetch_bytes` is bytes. Derived: `lora_alpha` (null → 2 × lora_rank), `packing`
 * (null → true; neat_packing forces true), `eval_steps` (null → logging_steps when eval_strategy is
 * steps), `do_eval` (true when eval_strategy is not "no", as in HF). `logging_steps`, `save_steps`,
 * `eval_steps` keep their raw value: below 1 they are a ratio of the total steps
 * (see `resolveStepInterval`). `model_name_or_path` and `output_dir` are required, hence strings.
 */
export type TrainConfig = Omit<
  RawTrainConfig,
  'model_name_or_path' | 'output_dir' | 'lora_alpha' | 'packing' | 'report_to'
> & {
  model_name_or_path: string;
  output_dir: string;
  lora_alpha: number;
  packing: boolean;
  report_to: string[];
};

/** All keys the schema knows, in group order. */
export const CONFIG_KEYS: readonly string[] = Object.keys(rawConfigSchema.shape);

/** One row of the key listing. */
export interface ConfigKeyInfo {
  key: string;
  /** e.g. "integer", "number | null", "full | freeze | lora". */
  type: string;
  /** The default as it would be written in YAML (null = unset / derived). */
  default: unknown;
  help: string;
  group: ConfigGroup;
}

/** Every key with its type, default, help text and group (for --help and the README). */
export function listConfigKeys(): ConfigKeyInfo[] {
  const rows: ConfigKeyInfo[] = [];
  for (const [group, fields] of Object.entries(CONFIG_GROUPS) as [ConfigGroup, Record<string, z.ZodType>][]) {
    for (const [key, schema] of Object.entries(fields)) {
      const meta = fieldMeta.get(schema);
      if (meta === undefined || schema.description === undefined) {
        throw new Error(`config key '${key}' lacks its type or help text`);
      }
      rows.push({ key, type: meta.type, default: meta.default, help: schema.description, group });
    }
  }
  return rows;
}

const GROUP_TITLES: Record<ConfigGroup, string> = {
  model: 'Model (LLaMA-Factory ModelArguments)',
  data: 'Data (LLaMA-Factory DataArguments)',
  finetuning: 'Fine-tuning method (LLaMA-Factory FinetuningArguments)',
  training: 'Training (Hugging Face TrainingArguments)',
  ptflow: 'ptflow',
};

function showDefault(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return v;
  if (typeof v === 'object') return JSON.stringify(v);
  if (typeof v === 'number' && v !== 0 && Math.abs(v) < 1e-3) return v.toExponential(); // 5e-5, not 0.00005
  return String(v);
}

/** Word-wraps `text` to `width` columns, every line after the first indented by `indent`. */
function wrap(text: string, width: number, indent: string): string {
  const words = text.split(/\s+/);
  const lines: string[] = [];
  let line = '';
  for (const w of words) {
    if (line.length > 0 && line.length + 1 + w.length > width) {
      lines.push(line);
      line = w;
    } else {
      line = line.length > 0 ? `${line} ${w}` : w;
    }
  }
  if (line.length > 0) lines.push(line);
  return lines.join(`\n${indent}`);
}

/** The text of `ptflow train --help`. */
export function configHelpText(): string {
  const out: string[] = [
    'Usage: ptflow train <config.yaml> [key=value ...]',
    '',
    'Pre-trains (stage pt) a Llama-architecture model with the keys of LLaMA-Factory`s YAML.',
    'key=value arguments override the file; values are YAML scalars (max_steps=10, packing=false,',
    'dataset=a,b). Relative paths are relative to the current directory. Keys of LLaMA-Factory or',
    'Hugging Face that mean nothing here (template, flash_attn, deepspeed, bf16, ...) are accepted',
    'with a warning.',
  ];
  const rows = listConfigKeys();
  for (const group of Object.keys(CONFIG_GROUPS) as ConfigGroup[]) {
    out.push('', `${GROUP_TITLES[group]}:`);
    for (const r of rows.filter((x) => x.group === group)) {
      out.push(`  ${wrap(`${r.key} (${r.type}, default ${showDefault(r.default)})`, 96, '    ')}`);
      out.push(`      ${wrap(r.help, 90, '      ')}`);
    }
  }
  return out.join('\n').replace(/`/g, "'") + '\n';
}
