import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadTokenizer, postProcessorAddsBos } from './tokenizer';
import { PtflowError } from '../errors';

const FIXTURE = path.join(__dirname, '..', '..', 'examples', 'tiny-llama');
const tokJsonText = fs.readFileSync(path.join(FIXTURE, 'tokenizer.json'), 'utf8');
const tokJson = JSON.parse(tokJsonText) as { model: { vocab: Record<string, number> }; post_processor: unknown };
const vocab = tokJson.model.vocab;
const baseConfig = JSON.parse(fs.readFileSync(path.join(FIXTURE, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptflow-tok-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
function makeDir(config: unknown, tokenizerJson: unknown = tokJson): string {
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), typeof tokenizerJson === 'string' ? tokenizerJson : JSON.stringify(tokenizerJson));
  fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), typeof config === 'string' ? config : JSON.stringify(config));
  return dir;
}

describe('loadTokenizer on the example 32k SentencePiece-BPE tokenizer', () => {
  const tok = loadTokenizer(FIXTURE);

  it('encodes without special tokens; ids match the vocabulary entries by hand', () => {
    // "Hello world" → normalizer prepends "▁" and maps " " → "▁": pieces "▁Hello", "▁world"
    expect(Array.from(tok.encode('Hello world'))).toEqual([vocab['▁Hello'], vocab['▁world']]);
    expect(Array.from(tok.encode('Hello world'))).toEqual([22557, 1526]);
    expect(Array.from(tok.encode(''))).toEqual([]);
    expect(tok.encodeBatch(['Hello', 'world']).map((a) => Array.from(a))).toEqual([[vocab['▁Hello']], [vocab['▁world']]]);
  });

  it('appends eos_token as text: the literal "</s>" becomes the EOS id', () => {
    expect(Array.from(tok.encodeDoc('Hello world'))).toEqual([22557, 1526, 2]);
    expect(Array.from(tok.encodeDoc(''))).toEqual([2]);
    expect(tok.decode([22557, 1526, 2])).toBe('Hello world</s>');
  });

  it('reads special tokens, add_bos_token, pad = eos, vocab size, fingerprint', () => {
    expect({ bos: tok.bosId, eos: tok.eosId, pad: tok.padId, padToken: tok.padToken }).toEqual({ bos: 1, eos: 2, pad: 2, padToken: undefined });
    expect([tok.bosToken, tok.eosToken]).toEqual(['<s>', '</s>']);
    expect(tok.addBosToken).toBe(true);
    expect(tok.vocabSize).toBe(32000);
    const h = createHash('sha256');
    h.update(fs.readFileSync(path.join(FIXTURE, 'tokenizer.json')));
    h.update(Buffer.from([0]));
    h.update(fs.readFileSync(path.join(FIXTURE, 'tokenizer_config.json')));
    expect(tok.fingerprint).toBe(h.digest('hex'));
  });
});

describe('tokenizer_config variants', () => {
  it('special tokens as {content} objects; add_bos_token absent → taken from the post-processor', () => {
    const config = { ...baseConfig, bos_token: { __type: 'AddedToken', content: '<s>' }, eos_token: { content: '</s>' }, pad_token: { content: '<unk>' } };
    delete (config as Record<string, unknown>).add_bos_token;
    const tok = loadTokenizer(makeDir(config));
    expect([tok.bosId, tok.eosId, tok.padId, tok.addBosToken]).toEqual([1, 2, 0, true]);
  });

  it('no add_bos_token and no BOS-adding post-processor → false; add_bos_token false wins', () => {
    const config = { ...baseConfig };
    delete config.add_bos_token;
    expect(loadTokenizer(makeDir(config, { ...tokJson, post_processor: null })).addBosToken).toBe(false);
    expect(loadTokenizer(makeDir({ ...baseConfig, add_bos_token: false })).addBosToken).toBe(false);
  });

  it('eos override (LLaMA-Factory llama3 template style)', () => {
    const tok = loadTokenizer(FIXTURE, { eosToken: '<unk>' });
    expect(tok.eosId).toBe(0);
    expect(Array.from(tok.encodeDoc('Hello'))).toEqual([22557, 0]);
  });

  it('postProcessorAddsBos looks inside Sequence processors', () => {
    const tp = { type: 'TemplateProcessing', single: [{ SpecialToken: { id: '<|begin_of_text|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }] };
    expect(postProcessorAddsBos({ type: 'Sequence', processors: [{ type: 'ByteLevel' }, tp] }, '<|begin_of_text|>')).toBe(true);
    expect(postProcessorAddsBos(tp, '<s>')).toBe(false);
    expect(postProcessorAddsBos({ type: 'ByteLevel' }, '<s>')).toBe(false);
  });
});

describe('tokenizer errors name the file', () => {
  const cases: Array<[string, () => string, RegExp]> = [
    ['missing tokenizer.json', () => (fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), '{}'), dir), /Cannot read tokenizer file .*tokenizer\.json/],
    ['missing tokenizer_config.json', () => (fs.writeFileSync(path.join(dir, 'tokenizer.json'), tokJsonText), dir), /Cannot read tokenizer file .*tokenizer_config\.json/],
    ['bad JSON in tokenizer.json', () => makeDir(baseConfig, '{"model": '), /tokenizer\.json:1:11: invalid JSON: unexpected end of the file/],
    ['bad JSON in tokenizer_config.json', () => makeDir('{oops'), /tokenizer_config\.json:1:2: invalid JSON: Expected property name or '}'/],
    ['not a tokenizer', () => makeDir(baseConfig, { hello: 1 }), /tokenizer\.json: not a tokenizer\.json/],
    ['eos not in vocab', () => makeDir({ ...baseConfig, eos_token: '<eot>' }), /tokenizer_config\.json: eos_token "<eot>" is not in the vocabulary/],
    ['no eos', () => makeDir({ ...baseConfig, eos_token: null }), /tokenizer_config\.json: no eos_token/],
    ['bad key type', () => makeDir({ ...baseConfig, add_bos_token: 'yes' }), /tokenizer_config\.json: key "add_bos_token"/],
  ];
  it.each(cases)('%s', (_l, setup, msg) => {
    const d = setup();
    let err: unknown;
    try {
      loadTokenizer(d);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PtflowError);
    expect((err as Error).message).toMatch(msg);
  });
});
