/**
 * Tokenizer loading for pre-training: a Hugging Face tokenizer directory (`tokenizer.json` +
 * `tokenizer_config.json`) through @huggingface/tokenizers.
 *
 *   loadTokenizer(dir, { eosToken? }) → Tokenizer
 *
 * `encode` never adds special tokens (LLaMA-Factory tokenizes with add_special_tokens=False);
 * `encodeDoc` appends `eos_token` as text before tokenizing, as LLaMA-Factory does, so the EOS id
 * comes from added-token matching. `addBosToken` is the config's `add_bos_token` when present,
 * otherwise whether the tokenizer.json post-processor starts a single sequence with the BOS token.
 * `padId` is `pad_token`'s id, else the EOS id (LLaMA-Factory sets pad = eos). `fingerprint` is
 * sha256(tokenizer.json bytes ‖ 0x00 ‖ tokenizer_config.json bytes), for tokenized-data caches.
 * Byte-level BPE files (GPT-2, Llama-3, Qwen2, …) and SentencePiece-style BPE files with byte fallback
 * (Llama-2, Mistral) encode through `./fast-bpe` (same ids, much faster); other files through the library.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { z } from 'zod';
import { jsonErrorAt, PtflowError } from '../errors';
import { createFastBpe } from './fast-bpe';

export interface Tokenizer {
  /** Token ids of `text`, without special tokens. */
  encode(text: string): Int32Array;
  encodeBatch(texts: readonly string[]): Int32Array[];
  /** Token ids of `text + eosToken` (one pre-training document). */
  encodeDoc(text: string): Int32Array;
  decode(ids: ArrayLike<number>): string;
  bosId: number | undefined;
  eosId: number;
  padId: number;
  bosToken: string | undefined;
  eosToken: string;
  padToken: string | undefined;
  addBosToken: boolean;
  /** Embedding rows needed: largest token id + 1. */
  vocabSize: number;
  fingerprint: string;
  dir: string;
}

export interface LoadTokenizerOptions {
  /** Override the EOS text (LLaMA-Factory uses "<|end_of_text|>" with template llama3). */
  eosToken?: string;
}

const specialToken = z.union([z.string(), z.looseObject({ content: z.string() }), z.null()]).optional();
const configSchema = z.looseObject({
  bos_token: specialToken,
  eos_token: specialToken,
  pad_token: specialToken,
  add_bos_token: z.boolean().nullable().optional(),
});

const processorSchema: z.ZodType<PostProcessorJson> = z.lazy(() =>
  z.looseObject({
    type: z.string(),
    single: z.array(z.record(z.string(), z.unknown())).optional(),
    processors: z.array(processorSchema).optional(),
  }),
);
interface PostProcessorJson {
  type: string;
  single?: Record<string, unknown>[];
  processors?: PostProcessorJson[];
}

function readJson(file: string): { bytes: Buffer; json: unknown } {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    throw new PtflowError(`Cannot read tokenizer file ${file}: ${(e as Error).message}`, 2);
  }
  const text = bytes.toString('utf8');
  try {
    return { bytes, json: JSON.parse(text) };
  } catch (e) {
    const at = jsonErrorAt(text, e);
    throw new PtflowError(`${file}:${at.line}:${at.col}: invalid JSON: ${at.reason}`, 2);
  }
}

function tokenText(v: z.infer<typeof specialToken>): string | undefined {
  if (v === undefined || v === null) return undefined;
  return typeof v === 'string' ? v : v.content;
}

/** Does the post-processor put `bosToken` first in a single sequence? */
export function postProcessorAddsBos(pp: unknown, bosToken: string | undefined): boolean {
  if (bosToken === undefined || pp === null || pp === undefined) return false;
  const parsed = processorSchema.safeParse(pp);
  if (!parsed.success) return false;
  const visit = (p: PostProcessorJson): boolean => {
    if (p.type === 'Sequence') return (p.processors ?? []).some(visit);
    if (p.type !== 'TemplateProcessing' || !p.single || p.single.length === 0) return false;
    const first = p.single[0].SpecialToken as { id?: unknown } | undefined;
    return first !== undefined && first.id === bosToken;
  };
  return visit(parsed.data);
}

export function loadTokenizer(dir: string, opts: LoadTokenizerOptions = {}): Tokenizer {
  const tokFile = path.join(dir, 'tokenizer.json');
  const cfgFile = path.join(dir, 'tokenizer_config.json');
  const tok = readJson(tokFile);
  const cfg = readJson(cfgFile);
  const parsedCfg = configSchema.safeParse(cfg.json);
  if (!parsedCfg.success) {
    const issue = parsedCfg.error.issues[0];
    throw new PtflowError(`${cfgFile}: key "${issue.path.join('.') || '(root)'}": ${issue.message}`, 2);
  }
  const config = parsedCfg.data;
  if (tok.json === null || typeof tok.json !== 'object' || Array.isArray(tok.json) || !('model' in tok.json)) {
    throw new PtflowError(`${tokFile}: not a tokenizer.json (no "model" key)`, 2);
  }
  let hf: HfTokenizer;
  try {
    hf = new HfTokenizer(tok.json, cfg.json as object);
  } catch (e) {
    throw new PtflowError(`${tokFile}: cannot build the tokenizer: ${(e as Error).message}`, 2);
  }
  const idOf = (token: string | undefined, key: string): number | undefined => {
    if (token === undefined) return undefined;
    const id = hf.token_to_id(token);
    if (id === undefined) throw new PtflowError(`${cfgFile}: ${key} "${token}" is not in the vocabulary of ${tokFile}`, 2);
    return id;
  };
  const eosToken = opts.eosToken ?? tokenText(config.eos_token);
  if (eosToken === undefined) throw new PtflowError(`${cfgFile}: no eos_token (pre-training appends it to every document)`, 2);
  const eosId = idOf(eosToken, opts.eosToken !== undefined ? 'eos_token override' : 'eos_token') as number;
  const bosToken = tokenText(config.bos_token);
  const bosId = idOf(bosToken, 'bos_token');
  const padToken = tokenText(config.pad_token);
  const padId = idOf(padToken, 'pad_token') ?? eosId;
  const addBosToken =
    typeof config.add_bos_token === 'boolean'
      ? config.add_bos_token && bosId !== undefined
      : postProcessorAddsBos((tok.json as { post_processor?: unknown }).post_processor, bosToken);
  let maxId = -1;
  for (const id of hf.get_vocab(true).values()) if (id > maxId) maxId = id;
  const fingerprint = createHash('sha256').update(tok.bytes).update(Buffer.from([0])).update(cfg.bytes).digest('hex');

  const fast = createFastBpe(tok.json, cfg.json);
  const encode = fast.ok
    ? (text: string): Int32Array => fast.encoder.encode(text)
    : (text: string): Int32Array => Int32Array.from(hf.encode(text, { add_special_tokens: false }).ids);
  return {
    encode,
    encodeBatch: (texts) => texts.map(encode),
    encodeDoc: (text) => encode(text + eosToken),
    decode: (ids) => hf.decode(Array.from(ids), { skip_special_tokens: false }),
    bosId,
    eosId,
    padId,
    bosToken,
    eosToken,
    padToken,
    addBosToken,
    vocabSize: maxId + 1,
    fingerprint,
    dir,
  };
}
