import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readJsonFile } from './json-file';
import { readShardIndex } from './sharded';

describe('readJsonFile', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'json-file-'));
  });
  afterAll(async () => {
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('parses a file', async () => {
    const f = path.join(dir, 'ok.json');
    await fsp.writeFile(f, '{"a": [1, 2]}');
    expect(await readJsonFile(f)).toEqual({ a: [1, 2] });
  });

  it('names the file when it cannot be read', async () => {
    const f = path.join(dir, 'missing.json');
    await expect(readJsonFile(f)).rejects.toThrow(`cannot read ${f}`);
  });

  it('names file, line and column of a syntax error (here the "x" at line 2, column 3)', async () => {
    const f = path.join(dir, 'bad.json');
    await fsp.writeFile(f, '{\n  x: 1}');
    await expect(readJsonFile(f)).rejects.toThrow(`${f}:2:3: not valid JSON`);
  });

  it('serves the sharded index reader too', async () => {
    const f = path.join(dir, 'model.safetensors.index.json');
    await fsp.writeFile(f, '{"weight_map": {"w": "a.safetensors"},\n}');
    await expect(readShardIndex(f)).rejects.toThrow(`${f}:2:1: not valid JSON`);
  });
});
