/**
 * Crash-safe text writes for the output files: write a temporary sibling, then rename it over the
 * target, so a reader (or a resumed run) sees either the old file or the complete new one.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { PtflowError } from '../errors';
import { fsReason } from '../fs-error';

/** Write `text` (UTF-8) to `file` atomically, creating its directory if needed. */
export async function writeTextAtomic(file: string, text: string): Promise<void> {
  await writeBytesAtomic(file, text);
}

/** Write `data` to `file` atomically, creating its directory if needed. */
export async function writeBytesAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await fsp.mkdir(dir, { recursive: true });
    await fsp.writeFile(tmp, data);
    await fsp.rename(tmp, file);
  } catch (e) {
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw new PtflowError(`cannot write ${file}: ${fsReason(e)}`);
  }
}

/** Read a text file; a missing file is `undefined`, any other failure a `PtflowError` naming it. */
export async function readTextIfExists(file: string): Promise<string | undefined> {
  try {
    return await fsp.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new PtflowError(`cannot read ${file}: ${(e as Error).message}`);
  }
}
