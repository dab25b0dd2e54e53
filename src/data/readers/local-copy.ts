/**
 * Random access to a possibly compressed file. Parquet and Arrow IPC *file* format need to seek (the
 * footer holds the index), which a gzip or zstd stream cannot: a compressed one is decompressed to a
 * temporary file (under `os.tmpdir()`, i.e. $TMPDIR) that is deleted when released. Memory stays
 * bounded; the disk needs room for the decompressed file while it is read.
 *
 *   localCopy(file) → { path, release() }   `path` is `file` itself when it is not compressed
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PtflowError } from '../../errors';
import { compressionOf, openChunks, stripCompression } from './compression';

export interface LocalCopy {
  /** A plain file holding the decompressed bytes. */
  path: string;
  /** Delete the temporary copy, if one was made. */
  release(): Promise<void>;
}

/** $TMPDIR as this module's realm sees it (os.tmpdir() reads the process's own environment). */
function tempRoot(): string {
  return process.env['TMPDIR'] || os.tmpdir();
}

export async function localCopy(file: string): Promise<LocalCopy> {
  if (!compressionOf(file)) return { path: file, release: async () => undefined };
  const dir = await fs.promises.mkdtemp(path.join(tempRoot(), 'ptflow-decompressed-'));
  const release = (): Promise<void> => fs.promises.rm(dir, { recursive: true, force: true });
  const copy = path.join(dir, path.basename(stripCompression(file)));
  try {
    const out = await fs.promises.open(copy, 'w');
    try {
      for await (const chunk of openChunks(file)) await out.write(chunk);
    } finally {
      await out.close();
    }
  } catch (e) {
    await release();
    if (e instanceof PtflowError) throw e;
    throw new PtflowError(`${file}: cannot write its decompressed copy to ${dir}: ${(e as Error).message}`);
  }
  return { path: copy, release };
}
