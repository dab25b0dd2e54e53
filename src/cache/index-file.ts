/**
 * index.json and the per-rank manifests of a tokenized cache: reading (validated, errors name the
 * file and key), writing (atomically), and merging the ranks' manifests into the index.
 *
 *   readIndex(dir) → TokenCacheIndex | null          null when there is no index.json
 *   readManifests(dir) → PartManifest[]              every parts/part-*.json
 *   mergeParts(dir, fingerprint, worldSize?) → TokenCacheIndex   checks every rank is there; writes index.json
 */
import * as fs from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { PtflowError } from '../errors';
import { writeJsonAtomic } from '../engine/io/atomic';
import {
  CACHE_SPLITS,
  TOKEN_CACHE_FORMAT,
  TOKEN_CACHE_VERSION,
  partManifestSchema,
  tokenCacheIndexSchema,
  type PartManifest,
  type SplitIndex,
  type TokenCacheIndex,
} from '../../schemas/token-cache';
import { INDEX_FILE, PARTS_DIR, manifestFile, parsePartName } from './layout';

function readValidated<T>(file: string, schema: z.ZodType<T>, what: string): T {
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new PtflowError(`${file}: cannot read the ${what}: ${(e as Error).message}`);
  }
  const r = schema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new PtflowError(`${file}: not a ptflow ${what}: key "${issue.path.join('.') || '(root)'}": ${issue.message}`);
  }
  return r.data;
}

export function readIndex(dir: string): TokenCacheIndex | null {
  const file = path.join(dir, INDEX_FILE);
  if (!fs.existsSync(file)) return null;
  return readValidated(file, tokenCacheIndexSchema, 'token cache index');
}

export async function writeIndex(dir: string, index: TokenCacheIndex): Promise<void> {
  await writeJsonAtomic(path.join(dir, INDEX_FILE), index);
}

export function readManifest(file: string): PartManifest {
  return readValidated(file, partManifestSchema, 'token cache part manifest');
}

export async function writeManifest(dir: string, m: PartManifest): Promise<void> {
  fs.mkdirSync(path.join(dir, PARTS_DIR), { recursive: true });
  await writeJsonAtomic(path.join(dir, manifestFile(m.rank, m.world_size)), m);
}

export function readManifests(dir: string): PartManifest[] {
  const partsDir = path.join(dir, PARTS_DIR);
  if (!fs.existsSync(partsDir)) return [];
  return fs
    .readdirSync(partsDir)
    .filter((n) => parsePartName(n) !== null && n.endsWith('.json'))
    .sort()
    .map((n) => readManifest(path.join(partsDir, n)));
}

/** Ranks of `world` still to be done: absent, or built from other settings. */
export function missingRanks(manifests: readonly PartManifest[], fingerprint: string, world: number): { absent: number[]; stale: number[] } {
  const absent: number[] = [];
  const stale: number[] = [];
  for (let r = 0; r < world; r++) {
    const m = manifests.find((x) => x.rank === r && x.world_size === world);
    if (!m) absent.push(r);
    else if (m.fingerprint !== fingerprint) stale.push(r);
  }
  return { absent, stale };
}

/** The world size of the manifests that match `fingerprint` (the most recent run's), or null. */
export function worldSizeOf(manifests: readonly PartManifest[], fingerprint: string): number | null {
  const sizes = [...new Set(manifests.filter((m) => m.fingerprint === fingerprint).map((m) => m.world_size))];
  if (sizes.length > 1) {
    throw new PtflowError(`tokenized cache has parts from runs with different world sizes (${sizes.join(', ')}) for the same settings; pass --world-size`, 2);
  }
  return sizes.length === 1 ? sizes[0] : null;
}

/** Join the ranks' manifests into index.json. Every rank of `worldSize` must be present and current. */
export async function mergeParts(dir: string, fingerprint: string, worldSize?: number): Promise<TokenCacheIndex> {
  const manifests = readManifests(dir);
  const world = worldSize ?? worldSizeOf(manifests, fingerprint);
  if (world === null) {
    throw new PtflowError(`tokenized cache ${dir}: no prepared parts for the current settings; run \`ptflow prepare\` (with --rank/--world-size on a cluster)`);
  }
  const { absent, stale } = missingRanks(manifests, fingerprint, world);
  if (absent.length > 0 || stale.length > 0) {
    const lines: string[] = [];
    if (absent.length > 0) lines.push(`missing: ${absent.map((r) => manifestFile(r, world)).join(', ')}`);
    if (stale.length > 0) lines.push(`built from other settings: ${stale.map((r) => manifestFile(r, world)).join(', ')}`);
    throw new PtflowError(
      `tokenized cache ${dir} is incomplete: ${absent.length + stale.length} of ${world} parts not ready (${lines.join('; ')}). ` +
        `Run \`ptflow prepare … --rank R --world-size ${world}\` for rank${absent.length + stale.length > 1 ? 's' : ''} ${[...absent, ...stale].sort((a, b) => a - b).join(', ')}`,
    );
  }
  const mine = Array.from({ length: world }, (_, r) => manifests.find((m) => m.rank === r && m.world_size === world)!);
  const splits: Record<string, SplitIndex> = {};
  for (const split of CACHE_SPLITS) {
    const parts = mine.map((m) => m.splits[split]).filter((p) => p !== undefined);
    if (parts.length === 0) continue;
    if (parts.length !== world) throw new PtflowError(`tokenized cache ${dir}: split ${split} is missing from some part manifests`);
    // Parts cover the planned order contiguously (`planned`: what a part covered before pipeline steps dropped documents).
    let next = 0;
    for (const p of parts) {
      if (p.first !== next) throw new PtflowError(`tokenized cache ${dir}: ${p.file} starts at document ${p.first}, expected ${next}`);
      next += p.planned ?? p.documents;
    }
    const total = mine[0].split_documents[split];
    if (next !== total) throw new PtflowError(`tokenized cache ${dir}: the ${split} parts hold ${next} documents, the plan has ${total}`);
    splits[split] = { documents: parts.reduce((a, p) => a + p.documents, 0), tokens: parts.reduce((a, p) => a + p.tokens, 0), parts };
  }
  const index: TokenCacheIndex = {
    format: TOKEN_CACHE_FORMAT,
    format_version: TOKEN_CACHE_VERSION,
    fingerprint,
    tokenizer_fingerprint: mine[0].preprocessing.tokenizer,
    preprocessing: mine[0].preprocessing,
    world_size: world,
    splits,
  };
  await writeIndex(dir, index);
  removeOtherParts(dir, index);
  return index;
}

/** Delete part files and manifests the index does not list (left by earlier runs). */
function removeOtherParts(dir: string, index: TokenCacheIndex): void {
  const keep = new Set<string>();
  for (const s of Object.values(index.splits)) for (const p of s.parts) keep.add(p.file);
  for (let r = 0; r < index.world_size; r++) keep.add(manifestFile(r, index.world_size));
  for (const sub of [...CACHE_SPLITS, PARTS_DIR]) {
    const d = path.join(dir, sub);
    if (!fs.existsSync(d)) continue;
    for (const name of fs.readdirSync(d)) {
      if (parsePartName(name) !== null && !keep.has(`${sub}/${name}`)) fs.rmSync(path.join(d, name), { force: true });
    }
  }
}
