import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { mixDatasets, type MixStrategy } from '../mix';
import type { DatasetSpec } from '../registry';
import { DatasetStream } from './dataset-stream';
import { StreamMixer } from './mixer';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptflow-mixer-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Dataset `name` with `n` documents "name:i", split over `files` files. */
function dataset(name: string, n: number, files = 1): { spec: DatasetSpec; docs: string[] } {
  const docs = Array.from({ length: n }, (_, i) => `${name}:${i}`);
  const paths: string[] = [];
  const per = Math.ceil(n / files);
  for (let f = 0; f < files; f++) {
    const p = path.join(dir, `${name}-${f}.jsonl`);
    fs.writeFileSync(p, docs.slice(f * per, (f + 1) * per).map((t) => JSON.stringify({ text: t })).join('\n') + '\n');
    paths.push(p);
  }
  return { spec: { name, files: paths, format: 'jsonl', textColumn: 'text' }, docs };
}

function streams(specs: DatasetSpec[]): DatasetStream[] {
  let base = 0;
  return specs.map((s) => {
    const d = new DatasetStream(s, base, s.files.map((_, i) => i), { io: { bytes: 0 } });
    base += s.files.length;
    return d;
  });
}

async function drain(m: StreamMixer, limit = 100_000): Promise<string[]> {
  const out: string[] = [];
  for (let d = await m.next(); d; d = await m.next()) {
    out.push(d.text);
    if (out.length > limit) throw new Error('mixer does not end');
  }
  return out;
}

describe('StreamMixer equals mixDatasets (the map-style reference)', () => {
  const sets = [dataset('a', 7, 2), dataset('b', 3), dataset('c', 12, 3)];
  const strategies: MixStrategy[] = ['concat', 'interleave_under', 'interleave_over', 'interleave_once'];
  for (const strategy of strategies) {
    for (const probs of [null, [0.5, 0.2, 0.3]]) {
      it(`${strategy}${probs ? ' with probabilities' : ''}`, async () => {
        const expected = mixDatasets(sets.map((s) => s.docs), { strategy, probs: probs ?? undefined, seed: 11 });
        const specs = sets.map((s) => s.spec);
        expect(await drain(new StreamMixer(streams(specs), strategy, probs, 11))).toEqual(expected);
        // stopped anywhere and resumed from its state (positions + mixer state), it continues identically
        for (const cut of [0, 1, 5, Math.floor(expected.length / 2), expected.length - 1].filter((c) => c >= 0 && c <= expected.length)) {
          const src = streams(specs);
          const m = new StreamMixer(src, strategy, probs, 11);
          const head: string[] = [];
          for (let i = 0; i < cut; i++) head.push((await m.next())!.text);
          const st = m.state();
          const pos = src.map((s) => s.position());
          for (const s of src) await s.close();
          let base = 0;
          const resumed = specs.map((s, d) => {
            const r = new DatasetStream(s, base, s.files.map((_, i) => i), { io: { bytes: 0 } }, pos[d]);
            base += s.files.length;
            return r;
          });
          const tail = await drain(new StreamMixer(resumed, strategy, probs, 11, st));
          expect([...head, ...tail]).toEqual(expected);
        }
      });
    }
  }

  it('an empty dataset is an error naming it when interleaving', async () => {
    const empty = path.join(dir, 'empty.jsonl');
    fs.writeFileSync(empty, '\n');
    const specs = [sets[0].spec, { name: 'hollow', files: [empty], format: 'jsonl' as const, textColumn: 'text' }];
    await expect(new StreamMixer(streams(specs), 'interleave_under', null, 1).next()).rejects.toThrow(/dataset "hollow" has no documents/);
  });
});
