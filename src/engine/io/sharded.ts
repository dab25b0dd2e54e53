/**
 * Sharded safetensors checkpoints: `model.safetensors.index.json` (`{"metadata": {"total_size"},
 * "weight_map": {tensor: shard file}}`) next to `model-0000k-of-0000n.safetensors` shards, as
 * Hugging Face `save_pretrained` writes them. Reading opens every shard once and checks that the
 * index and the shards agree; writing splits tensors (in name order) into shards of at most
 * `maxShardBytes` bytes of tensor data each.
 */
import * as path from 'node:path';
import { z } from 'zod';
import { PtflowError } from '../../errors';
import { writeJsonAtomic } from './atomic';
import { readJsonFile } from './json-file';
import { FloatTensor, SavableTensor, readSafetensorsF32, savableLayout, writeSafetensors } from './safetensors';

export const SAFE_WEIGHTS_INDEX_NAME = 'model.safetensors.index.json';

const IndexSchema = z.object({
  metadata: z.record(z.string(), z.unknown()).optional(),
  weight_map: z.record(z.string(), z.string()),
});

export type ShardIndex = z.infer<typeof IndexSchema>;

/** Read and validate an index file. */
export async function readShardIndex(indexFile: string): Promise<ShardIndex> {
  const raw = await readJsonFile(indexFile);
  const parsed = IndexSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new PtflowError(`${indexFile}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  for (const [name, shard] of Object.entries(parsed.data.weight_map)) {
    if (shard !== path.basename(shard) || shard === '.' || shard === '..') {
      throw new PtflowError(`${indexFile}: weight_map.${name} names ${JSON.stringify(shard)}, which is not a file in the same directory`);
    }
  }
  return parsed.data;
}

/** Read every tensor of a sharded checkpoint as float32. */
export async function readShardedSafetensorsF32(indexFile: string): Promise<Map<string, FloatTensor>> {
  const index = await readShardIndex(indexFile);
  const dir = path.dirname(indexFile);
  const byShard = new Map<string, string[]>();
  for (const [name, shard] of Object.entries(index.weight_map)) {
    const list = byShard.get(shard) ?? [];
    list.push(name);
    byShard.set(shard, list);
  }
  const out = new Map<string, FloatTensor>();
  for (const shard of [...byShard.keys()].sort()) {
    const shardFile = path.join(dir, shard);
    const wanted = new Set(byShard.get(shard));
    const { tensors } = await readSafetensorsF32(shardFile);
    for (const name of wanted) {
      const t = tensors.get(name);
      if (!t) throw new PtflowError(`${indexFile}: weight_map puts tensor ${name} in ${shard}, but ${shardFile} has no such tensor`);
      out.set(name, t);
    }
    for (const name of tensors.keys()) {
      if (!wanted.has(name)) {
        throw new PtflowError(`${shardFile}: tensor ${name} is not listed for this shard in ${indexFile}`);
      }
    }
  }
  return out;
}

/**
 * Write `tensors` as HF-style shards plus index into `dir` (each file atomically). Returns the
 * file names written. With everything fitting in one shard, callers should prefer a plain
 * `model.safetensors` (HF does the same); this function always writes the sharded layout.
 */
export async function writeShardedSafetensors(
  dir: string,
  tensors: ReadonlyMap<string, SavableTensor>,
  maxShardBytes: number,
  metadata: Readonly<Record<string, string>> = { format: 'pt' },
): Promise<string[]> {
  if (!(maxShardBytes > 0)) throw new PtflowError(`maxShardBytes must be positive, got ${maxShardBytes}`);
  const shards: string[][] = [];
  let current: string[] = [];
  let currentBytes = 0;
  let total = 0;
  for (const name of [...tensors.keys()].sort()) {
    const bytes = savableLayout(tensors.get(name)!).byteLength;
    if (current.length > 0 && currentBytes + bytes > maxShardBytes) {
      shards.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(name);
    currentBytes += bytes;
    total += bytes;
  }
  if (current.length > 0 || shards.length === 0) shards.push(current);
  const n = shards.length;
  const pad = (k: number): string => String(k).padStart(5, '0');
  const weightMap: Record<string, string> = {};
  const files: string[] = [];
  for (let k = 0; k < n; k++) {
    const fname = `model-${pad(k + 1)}-of-${pad(n)}.safetensors`;
    const sub = new Map<string, SavableTensor>();
    for (const name of shards[k]) {
      sub.set(name, tensors.get(name)!);
      weightMap[name] = fname;
    }
    await writeSafetensors(path.join(dir, fname), sub, metadata);
    files.push(fname);
  }
  await writeJsonAtomic(path.join(dir, SAFE_WEIGHTS_INDEX_NAME), { metadata: { total_size: total }, weight_map: weightMap }, { sortKeys: true });
  files.push(SAFE_WEIGHTS_INDEX_NAME);
  return files;
}
