/**
 * Hugging Face model directories: load `config.json` + `model.safetensors` (or the sharded index)
 * into float32 weights keyed by HF names, check them against the shapes a model expects, and save
 * a directory that `transformers` loads unchanged (config.json, generation_config.json,
 * model.safetensors with `{"format": "pt"}` metadata, tokenizer files copied along). Every file is
 * written atomically; JSON is written the way HF writes it (indent 2, sorted keys, newline).
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { PtflowError } from '../../errors';
import { writeFileAtomic, writeJsonAtomic } from './atomic';
import { readJsonFile } from './json-file';
import { FloatTensor, TensorSource, readSafetensorsF32, savableLayout, writeSafetensors } from './safetensors';
import { SAFE_WEIGHTS_INDEX_NAME, readShardedSafetensorsF32, writeShardedSafetensors } from './sharded';

export const CONFIG_NAME = 'config.json';
export const GENERATION_CONFIG_NAME = 'generation_config.json';
export const SAFE_WEIGHTS_NAME = 'model.safetensors';
/** The transformers release whose output layout ptflow writes. */
export const TRANSFORMERS_VERSION = '4.57.1';
/** Tokenizer files copied into a saved model directory when present in the source directory. */
export const TOKENIZER_FILES = [
  'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'tokenizer.model',
  'added_tokens.json', 'vocab.json', 'merges.txt', 'chat_template.jinja',
] as const;

export type JsonObject = Record<string, unknown>;
export type Weights = Map<string, FloatTensor>;

export async function readJsonObject(file: string): Promise<JsonObject> {
  const raw = await readJsonFile(file);
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new PtflowError(`${file}: must hold a JSON object`);
  return raw as JsonObject;
}

async function exists(p: string): Promise<boolean> {
  return fsp.stat(p).then(() => true, () => false);
}

/** Load an HF model directory: its config.json and all its weights as float32. */
export async function loadHfModelDir(dir: string): Promise<{ configJson: JsonObject; weights: Weights; weightsFile: string }> {
  const configJson = await readJsonObject(path.join(dir, CONFIG_NAME));
  const single = path.join(dir, SAFE_WEIGHTS_NAME);
  const index = path.join(dir, SAFE_WEIGHTS_INDEX_NAME);
  if (await exists(single)) {
    const { tensors } = await readSafetensorsF32(single);
    return { configJson, weights: tensors, weightsFile: single };
  }
  if (await exists(index)) {
    return { configJson, weights: await readShardedSafetensorsF32(index), weightsFile: index };
  }
  const bin = (await exists(path.join(dir, 'pytorch_model.bin'))) ? ' (pytorch_model.bin is not supported: convert it to safetensors)' : '';
  throw new PtflowError(`${dir}: no ${SAFE_WEIGHTS_NAME} or ${SAFE_WEIGHTS_INDEX_NAME}${bin}`);
}

/**
 * Check loaded weights against the shapes a model expects. Throws one error naming every missing
 * and unexpected tensor and every shape mismatch (first few of each), prefixed by `file`.
 */
export function checkWeights(
  weights: ReadonlyMap<string, { shape: readonly number[] }>,
  expected: ReadonlyMap<string, readonly number[]>,
  file: string,
): void {
  const missing: string[] = [];
  const mismatched: string[] = [];
  const unexpected: string[] = [];
  for (const [name, shape] of expected) {
    const w = weights.get(name);
    if (!w) missing.push(`${name} [${shape.join(', ')}]`);
    else if (w.shape.length !== shape.length || w.shape.some((d, i) => d !== shape[i])) {
      mismatched.push(`${name}: file has [${w.shape.join(', ')}], model expects [${shape.join(', ')}]`);
    }
  }
  for (const name of weights.keys()) if (!expected.has(name)) unexpected.push(name);
  if (missing.length + mismatched.length + unexpected.length === 0) return;
  const list = (title: string, xs: string[]): string =>
    xs.length === 0 ? '' : `\n  ${title} (${xs.length}): ${xs.slice(0, 5).join('; ')}${xs.length > 5 ? '; …' : ''}`;
  throw new PtflowError(
    `${file}: weights do not match the model` +
      list('missing', missing) + list('shape mismatch', mismatched) + list('unexpected', unexpected),
  );
}

/**
 * generation_config.json as `GenerationConfig.from_model_config` writes it for a model without one:
 * the special token ids of config.json, `_from_model_config: true`, `transformers_version`.
 */
export function generationConfigFromModelConfig(configJson: JsonObject): JsonObject {
  const out: JsonObject = { _from_model_config: true };
  for (const k of ['bos_token_id', 'eos_token_id', 'pad_token_id', 'decoder_start_token_id'] as const) {
    if (configJson[k] !== undefined && configJson[k] !== null) out[k] = configJson[k];
  }
  out.transformers_version = TRANSFORMERS_VERSION;
  return out;
}

export interface SaveHfModelDirOptions {
  configJson: JsonObject;
  /** Default: derived from configJson by `generationConfigFromModelConfig`. */
  generationConfigJson?: JsonObject;
  /** Arrays, or sources streamed to the file (engine/io/tf-tensor-source.ts). */
  weights: ReadonlyMap<string, FloatTensor | TensorSource>;
  /** Directory whose tokenizer files (TOKENIZER_FILES) are copied when present. */
  tokenizerFilesFrom?: string;
  /** Split model.safetensors into shards + index above this many bytes (default: never). */
  maxShardBytes?: number;
}

/** Save an HF model directory (creating `dir` if needed). Returns the names of the files written. */
export async function saveHfModelDir(dir: string, opts: SaveHfModelDirOptions): Promise<string[]> {
  await fsp.mkdir(dir, { recursive: true });
  const written: string[] = [];
  const config = { ...opts.configJson };
  if (config.transformers_version === undefined) config.transformers_version = TRANSFORMERS_VERSION;
  await writeJsonAtomic(path.join(dir, CONFIG_NAME), config, { sortKeys: true });
  written.push(CONFIG_NAME);
  const gen = { ...(opts.generationConfigJson ?? generationConfigFromModelConfig(opts.configJson)) };
  if (gen.transformers_version === undefined) gen.transformers_version = TRANSFORMERS_VERSION;
  await writeJsonAtomic(path.join(dir, GENERATION_CONFIG_NAME), gen, { sortKeys: true });
  written.push(GENERATION_CONFIG_NAME);

  let total = 0;
  for (const t of opts.weights.values()) total += savableLayout(t).byteLength;
  if (opts.maxShardBytes !== undefined && total > opts.maxShardBytes) {
    await removeIfExists(path.join(dir, SAFE_WEIGHTS_NAME));
    written.push(...(await writeShardedSafetensors(dir, opts.weights, opts.maxShardBytes, { format: 'pt' })));
  } else {
    await writeSafetensors(path.join(dir, SAFE_WEIGHTS_NAME), opts.weights, { format: 'pt' });
    await removeIfExists(path.join(dir, SAFE_WEIGHTS_INDEX_NAME));
    written.push(SAFE_WEIGHTS_NAME);
  }

  if (opts.tokenizerFilesFrom !== undefined && path.resolve(opts.tokenizerFilesFrom) !== path.resolve(dir)) {
    for (const name of TOKENIZER_FILES) {
      const src = path.join(opts.tokenizerFilesFrom, name);
      if (!(await exists(src))) continue;
      await writeFileAtomic(path.join(dir, name), await fsp.readFile(src));
      written.push(name);
    }
  }
  return written;
}

async function removeIfExists(p: string): Promise<void> {
  await fsp.rm(p, { force: true });
}
