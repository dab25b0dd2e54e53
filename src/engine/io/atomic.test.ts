import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { commitDirAtomic, tempPathFor, withAtomicFile, writeFileAtomic, writeJsonAtomic } from './atomic';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'ptflow-atomic-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('atomic writes', () => {
  test('writeFileAtomic replaces the file and leaves no temp file', async () => {
    const f = path.join(dir, 'a.txt');
    writeFileSync(f, 'old');
    await writeFileAtomic(f, 'new contents');
    expect(readFileSync(f, 'utf8')).toBe('new contents');
    expect(readdirSync(dir)).toEqual(['a.txt']);
  });

  test('a writer that throws leaves the old file intact and removes its temp file', async () => {
    const f = path.join(dir, 'b.bin');
    writeFileSync(f, 'precious');
    await expect(
      withAtomicFile(f, async (fh) => {
        await fh.write(Buffer.from('half-writ'));
        throw new Error('disk on fire');
      }),
    ).rejects.toThrow('disk on fire');
    expect(readFileSync(f, 'utf8')).toBe('precious');
    expect(readdirSync(dir)).toEqual(['b.bin']);
  });

  test('writing into a missing directory is a PtflowError naming the target', async () => {
    await expect(writeFileAtomic(path.join(dir, 'no', 'x.json'), '{}')).rejects.toThrow(/cannot write .*no\/x\.json/);
  });

  test('writeJsonAtomic writes indent-2 JSON with a newline; sortKeys sorts every level', async () => {
    const f = path.join(dir, 'c.json');
    await writeJsonAtomic(f, { b: 1, a: { d: [1, { z: 1, y: 2 }], c: null } }, { sortKeys: true });
    expect(readFileSync(f, 'utf8')).toBe('{\n  "a": {\n    "c": null,\n    "d": [\n      1,\n      {\n        "y": 2,\n        "z": 1\n      }\n    ]\n  },\n  "b": 1\n}\n');
  });

  test('tempPathFor stays in the same directory and is unique', () => {
    const a = tempPathFor('/x/y/model.safetensors');
    expect(path.dirname(a)).toBe('/x/y');
    expect(a).not.toBe(tempPathFor('/x/y/model.safetensors'));
  });
});

describe('commitDirAtomic', () => {
  test('moves a finished temp dir into place', async () => {
    const tmp = tempPathFor(path.join(dir, 'checkpoint-10'));
    mkdirSync(path.join(tmp, 'sub'), { recursive: true });
    writeFileSync(path.join(tmp, 'sub', 'w.bin'), 'w');
    await commitDirAtomic(tmp, path.join(dir, 'checkpoint-10'));
    expect(readFileSync(path.join(dir, 'checkpoint-10', 'sub', 'w.bin'), 'utf8')).toBe('w');
    expect(existsSync(tmp)).toBe(false);
    expect(readdirSync(dir)).toEqual(['checkpoint-10']);
  });

  test('replaces an existing directory completely and removes the old copy', async () => {
    const final = path.join(dir, 'checkpoint-20');
    mkdirSync(final);
    writeFileSync(path.join(final, 'stale.txt'), 'old');
    const tmp = tempPathFor(final);
    mkdirSync(tmp);
    writeFileSync(path.join(tmp, 'fresh.txt'), 'new');
    await commitDirAtomic(tmp, final);
    expect(readdirSync(final)).toEqual(['fresh.txt']);
    expect(readdirSync(dir)).toEqual(['checkpoint-20']);
  });

  test('a missing temp dir is an error and leaves the existing directory alone', async () => {
    const final = path.join(dir, 'keep');
    mkdirSync(final);
    writeFileSync(path.join(final, 'x'), '1');
    await expect(commitDirAtomic(path.join(dir, 'missing'), final)).rejects.toThrow(/cannot commit .*keep: .*missing is not a directory/);
    expect(readFileSync(path.join(final, 'x'), 'utf8')).toBe('1');
  });
});
