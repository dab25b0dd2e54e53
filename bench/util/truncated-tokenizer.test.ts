import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createFastBpe } from '../../src/data/fast-bpe';
import { loadTokenizer } from '../../src/data/tokenizer';
import { truncatedTokenizer } from './truncated-tokenizer';

const DEMO = path.resolve(__dirname, '../../examples/tiny-llama');

describe('truncatedTokenizer', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'ptflow-truncated-tok-'));
    const full = JSON.parse(readFileSync(path.join(DEMO, 'tokenizer.json'), 'utf8'));
    writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(truncatedTokenizer(full, 8192)));
    copyFileSync(path.join(DEMO, 'tokenizer_config.json'), path.join(dir, 'tokenizer_config.json'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("is a tokenizer ptflow's own encoder takes (no fallback to the slower one)", () => {
    const json = JSON.parse(readFileSync(path.join(dir, 'tokenizer.json'), 'utf8'));
    const cfg = JSON.parse(readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8'));
    const fast = createFastBpe(json, cfg);
    expect(fast.ok ? 'ok' : fast).toBe('ok');
    // Names an object inherits ("valueOf") are not tokens: a merge needing one is dropped.
    expect(json.model.merges).not.toContain('value Of');
  });

  it('encodes real text into ids below the cut only, decodes it back, and keeps the frequent tokens', () => {
    const cut = loadTokenizer(dir);
    const full = loadTokenizer(DEMO);
    const lines = readFileSync(path.resolve(__dirname, '../../examples/data/kjv_demo.jsonl'), 'utf8').split('\n').slice(0, 200).filter(Boolean);
    let cutTokens = 0;
    let fullTokens = 0;
    for (const line of lines) {
      const text = (JSON.parse(line) as { text: string }).text + ' ünïcödé ✓';
      const ids = cut.encode(text);
      expect(Math.max(...ids)).toBeLessThan(8192);
      expect(cut.decode(ids)).toBe(full.decode(full.encode(text)));
      const f = full.encode(text);
      cutTokens += ids.length;
      fullTokens += f.length;
    }
    // The cut vocabulary still merges: a little more tokens than the full one's.
    expect(cutTokens).toBeGreaterThan(fullTokens);
    expect(cutTokens).toBeLessThan(1.3 * fullTokens);
    expect(cut.vocabSize).toBe(8192);
    expect([cut.bosId, cut.eosId]).toEqual([full.bosId, full.eosId]);
  });
});
