/**
 * Checks a base model's weight files before any thread starts, from their headers only (no tensor
 * bytes are read): the file exists and is not truncated, and it holds every parameter the Llama
 * config needs, in its shape, as floating point. A problem is a usage error naming the file and the
 * tensor, seconds into the run instead of after the data pipeline has started.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { PtflowError } from '../errors';
import { isFloatDtype } from '../engine/io/dtype';
import { SAFE_WEIGHTS_NAME } from '../engine/io/hf-model-dir';
import { readSafetensorsHeader, type TensorEntry } from '../engine/io/safetensors';
import { readShardIndex, SAFE_WEIGHTS_INDEX_NAME } from '../engine/io/sharded';
import type { LlamaConfig } from '../engine/model/config';
import { parameterShapes } from '../engine/model/names';

interface Found {
  entry: TensorEntry;
  file: string;
}

async function headerEntries(dir: string): Promise<{ found: Map<string, Found>; where: string }> {
  const single = path.join(dir, SAFE_WEIGHTS_NAME);
  const index = path.join(dir, SAFE_WEIGHTS_INDEX_NAME);
  const found = new Map<string, Found>();
  if (existsSync(single)) {
    for (const entry of (await readSafetensorsHeader(single)).entries) found.set(entry.name, { entry, file: single });
    return { found, where: single };
  }
  if (existsSync(index)) {
    const shards = [...new Set(Object.values((await readShardIndex(index)).weight_map))].sort();
    for (const shard of shards) {
      const file = path.join(dir, shard);
      for (const entry of (await readSafetensorsHeader(file)).entries) found.set(entry.name, { entry, file });
    }
    return { found, where: index };
  }
  throw new PtflowError(
    `model_name_or_path: ${dir} has no ${SAFE_WEIGHTS_NAME} or ${SAFE_WEIGHTS_INDEX_NAME} ` +
      '(set train_from_scratch: true to start from random weights)',
  );
}

/** Throws a usage error (exit 2) when `dir`'s weights cannot give the model `cfg` describes. */
export async function checkBaseWeights(dir: string, cfg: LlamaConfig): Promise<void> {
  try {
    const { found, where } = await headerEntries(dir);
    const shapes = parameterShapes(cfg);
    for (const [name, shape] of shapes) {
      const f = found.get(name);
      if (!f) throw new PtflowError(`${where}: tensor "${name}" is missing (expected shape [${shape}])`);
      const s = f.entry.shape;
      if (s.length !== shape.length || s.some((d, i) => d !== shape[i])) {
        throw new PtflowError(`${f.file}: tensor "${name}" has shape [${s}], expected [${shape}]`);
      }
      if (!isFloatDtype(f.entry.dtype)) {
        throw new PtflowError(`${f.file}: tensor "${name}" has dtype ${f.entry.dtype}; a floating-point tensor was expected`);
      }
    }
    for (const [name, f] of found) {
      if (shapes.has(name) || (name === 'lm_head.weight' && cfg.tieWordEmbeddings) || name.endsWith('rotary_emb.inv_freq')) continue;
      throw new PtflowError(`${f.file}: tensor "${name}" is not a parameter of this Llama config`);
    }
  } catch (e) {
    if (e instanceof PtflowError) throw new PtflowError(e.message, 2);
    throw e;
  }
}
