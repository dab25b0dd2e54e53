import { mkdtempSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { PartWriter, readPart } from './arrow-part';

const tmp = (): string => mkdtempSync(path.join(os.tmpdir(), 'ptflow-part-'));

async function collect(file: string, expected: { bytes: number; documents: number }): Promise<{ docs: number[][]; batches: number }> {
  const docs: number[][] = [];
  let batches = 0;
  for await (const b of readPart(file, expected)) {
    batches++;
    for (const d of b) docs.push(Array.from(d));
  }
  return { docs, batches };
}

describe('PartWriter / readPart', () => {
  it('round-trips documents across record batches, and the file is plain Arrow (input_ids: List<Int32>)', async () => {
    const file = path.join(tmp(), 'p.arrow');
    const w = new PartWriter(file);
    // 9000 documents: more than one 8192-document record batch
    const docs = Array.from({ length: 9000 }, (_, i) => Array.from({ length: i % 5 }, (_, k) => i * 10 + k));
    for (const d of docs) w.add(Int32Array.from(d));
    const st = await w.close();
    expect(st.documents).toBe(9000);
    expect(st.tokens).toBe(docs.reduce((a, d) => a + d.length, 0));
    expect(st.bytes).toBe(statSync(file).size);
    const back = await collect(file, { bytes: st.bytes, documents: 9000 });
    expect(back.batches).toBe(2);
    expect(back.docs).toEqual(docs);
    // an independent reader sees the same column
    const table = tableFromIPC(readFileSync(file));
    expect(table.numRows).toBe(9000);
    expect(String(table.schema.fields[0].type)).toBe('List<Int32>');
    expect(Array.from(table.getChild('input_ids')!.get(8999) as Iterable<number>)).toEqual(docs[8999]);
  });

  it('copies what it is given: the caller may reuse its arrays at once (the file holds what was added)', async () => {
    const file = path.join(tmp(), 'r.arrow');
    // record batches of 3 documents or 8 tokens: documents pending in a batch, batches flushed
    const w = new PartWriter(file, { docs: 3, tokens: 8 });
    const scratch = new Int32Array(5);
    const expected: number[][] = [];
    for (let i = 0; i < 11; i++) {
      const len = 1 + (i % 5);
      for (let k = 0; k < len; k++) scratch[k] = 100 * i + k;
      w.add(scratch.subarray(0, len));
      expected.push(Array.from(scratch.subarray(0, len)));
      scratch.fill(-1); // the next document overwrites the same memory
    }
    const st = await w.close();
    expect(st.documents).toBe(11);
    expect(st.tokens).toBe(expected.flat().length);
    expect((await collect(file, st)).docs).toEqual(expected);
    expect(Array.from(tableFromIPC(readFileSync(file)).getChild('input_ids')!.get(10) as Iterable<number>)).toEqual([1000]);
  });

  it('a failed write is an error naming the file, from the add that flushed the batch', () => {
    // /dev/full: every write fails with ENOSPC (a full disk)
    const w = new PartWriter('/dev/full', { docs: 2, tokens: 100 });
    w.add(Int32Array.of(1, 2));
    expect(() => w.add(Int32Array.of(3))).toThrow(/^cannot write \/dev\/full: ENOSPC/);
    w.abort();
  });

  it('writes a readable empty part', async () => {
    const file = path.join(tmp(), 'e.arrow');
    const st = await new PartWriter(file).close();
    expect(st.documents).toBe(0);
    expect((await collect(file, { bytes: st.bytes, documents: 0 })).docs).toEqual([]);
  });

  it('names the file and the problem for a missing, truncated, foreign or short part', async () => {
    const dir = tmp();
    const file = path.join(dir, 'p.arrow');
    const w = new PartWriter(file);
    for (let i = 0; i < 10; i++) w.add(Int32Array.from([i, i + 1]));
    const st = await w.close();
    await expect(collect(path.join(dir, 'nope.arrow'), st)).rejects.toThrow(/nope\.arrow is missing/);
    await expect(collect(file, { bytes: st.bytes, documents: 11 })).rejects.toThrow(/holds 10 documents, the index says 11/);
    truncateSync(file, st.bytes - 40);
    await expect(collect(file, st)).rejects.toThrow(new RegExp(`p\\.arrow is truncated: ${st.bytes - 40} bytes, the index says ${st.bytes}`));
    writeFileSync(file, Buffer.alloc(st.bytes, 1));
    await expect(collect(file, st)).rejects.toThrow(/p\.arrow is not an Arrow IPC file/);
  });
});
