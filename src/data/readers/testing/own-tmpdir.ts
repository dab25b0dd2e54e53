/**
 * Runs `fn` with $TMPDIR pointing at a fresh directory of its own, then restores $TMPDIR and removes
 * the directory. Readers put decompressed copies under $TMPDIR (local-copy.ts); test files run in
 * parallel, so a test that checks "no copy is left behind" must look in a directory nobody else uses.
 *
 *   await withOwnTmpdir(async (tmp) => { ...; expect(fs.readdirSync(tmp)).toEqual([]); })
 *
 * Only this realm's `process.env` changes (what local-copy.ts reads); Node's own os.tmpdir() keeps
 * the process's value, so the directory is made under it.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export async function withOwnTmpdir<T>(fn: (tmp: string) => Promise<T>): Promise<T> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ptflow-own-tmp-'));
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = tmp;
  try {
    return await fn(tmp);
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
