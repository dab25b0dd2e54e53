/**
 * Crash-safe file writes: a file (or a whole directory) is first written under a temporary
 * name in the same directory, flushed to disk, and then renamed into place, so readers only
 * ever see the old version or the complete new one. Checkpoints are written with these.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { PtflowError } from '../../errors';
import { fsReason } from '../../fs-error';

/** Temporary sibling name for `target`: same directory (so rename is atomic), hidden, unique. */
export function tempPathFor(target: string): string {
  const dir = path.dirname(target);
  const base = path.basename(target);
  return path.join(dir, `.${base}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** fsync a directory so that a rename inside it survives a power loss (best effort where unsupported). */
export async function fsyncDir(dir: string): Promise<void> {
  let fh: fsp.FileHandle | undefined;
  try {
    fh = await fsp.open(dir, 'r');
    await fh.sync();
  } catch (e) {
    // Some platforms / file systems cannot open or fsync directories; the rename is still atomic.
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EBADF') throw e;
  } finally {
    await fh?.close();
  }
}

/**
 * Write `target` atomically by handing `write` an open handle on a temporary file in the same
 * directory; on success the file is fsynced and renamed over `target`. If `write` throws, the
 * temporary file is removed and `target` is left as it was.
 */
export async function withAtomicFile(
  target: string,
  write: (fh: fsp.FileHandle) => Promise<void>,
): Promise<void> {
  const tmp = tempPathFor(target);
  let fh: fsp.FileHandle | undefined;
  try {
    fh = await fsp.open(tmp, 'wx');
    await write(fh);
    await fh.sync();
    await fh.close();
    fh = undefined;
    await fsp.rename(tmp, target);
  } catch (e) {
    if (fh) await fh.close().catch(() => undefined);
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    if (e instanceof PtflowError) throw e;
    const err = e as NodeJS.ErrnoException;
    if (err.code) throw new PtflowError(`cannot write ${target}: ${fsReason(err)}`);
    throw e;
  }
  await fsyncDir(path.dirname(target));
}

/** Write bytes or text to `target` atomically (temp file in the same directory + fsync + rename). */
export async function writeFileAtomic(target: string, data: string | Uint8Array): Promise<void> {
  await withAtomicFile(target, async (fh) => {
    await fh.writeFile(data);
  });
}

/** Serialise `value` like Python's `json.dumps(value, indent=2)` (+ newline) and write it atomically. */
export async function writeJsonAtomic(target: string, value: unknown, opts: { sortKeys?: boolean } = {}): Promise<void> {
  await writeFileAtomic(target, toJsonText(value, opts.sortKeys ?? false));
}

/** JSON text with 2-space indent and a trailing newline; `sortKeys` sorts object keys at every level. */
export function toJsonText(value: unknown, sortKeys: boolean): string {
  const v = sortKeys ? sortKeysDeep(value) : value;
  return JSON.stringify(v, null, 2) + '\n';
}

function sortKeysDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeysDeep);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) out[k] = sortKeysDeep((value as Record<string, unknown>)[k]);
    return out;
  }
  return value;
}

async function fsyncTree(dir: string): Promise<void> {
  const entries = await fsp.readdir(dir, { withFileTypes: true });
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) await fsyncTree(p);
    else if (e.isFile()) {
      const fh = await fsp.open(p, 'r');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    }
  }
  await fsyncDir(dir);
}

/**
 * Move a fully written temporary directory into place as `finalDir`: every file in it is
 * fsynced, then it is renamed. A reader never sees a partly written `finalDir`. If `finalDir`
 * already exists it is first renamed aside (`.<name>.tmp-….old`) and deleted only after the new
 * directory is in place; a crash between those two renames leaves the old copy under that
 * sibling name and no `finalDir` (new checkpoint directories, the usual case, have no such window).
 * `tmpDir` must be on the same file system as `finalDir` (create it next to it: `tempPathFor`).
 */
export async function commitDirAtomic(tmpDir: string, finalDir: string): Promise<void> {
  const st = await fsp.stat(tmpDir).catch(() => undefined);
  if (!st?.isDirectory()) throw new PtflowError(`cannot commit ${finalDir}: ${tmpDir} is not a directory`);
  await fsyncTree(tmpDir);
  const parent = path.dirname(finalDir);
  const existing = await fsp.stat(finalDir).catch(() => undefined);
  let aside: string | undefined;
  if (existing) {
    aside = `${tempPathFor(finalDir)}.old`;
    await fsp.rename(finalDir, aside);
  }
  try {
    await fsp.rename(tmpDir, finalDir);
  } catch (e) {
    if (aside) await fsp.rename(aside, finalDir).catch(() => undefined);
    throw new PtflowError(`cannot write ${finalDir}: ${fsReason(e)}`);
  }
  await fsyncDir(parent);
  if (aside) await fsp.rm(aside, { recursive: true, force: true });
}
