/**
 * `exclusion_dir`: the documents a step dropped, one JSON line each (`{"id","source","reason","text"}`),
 * zstd-compressed (`<exclusion_dir>/<file>.jsonl.zst`; read it with `zstd -dc`, or fzstd). Lines are
 * compressed in frames of about 1 MiB appended to the file (a zstd file may hold many frames), so
 * memory stays bounded. Lines of a batch are held back until `commit()` (the batch is finished): a
 * batch re-processed after a restart is not written twice.
 */
import { mkdirSync, openSync, writeSync, closeSync } from 'node:fs';
import path from 'node:path';
import { PtflowError } from '../errors';

export interface ExcludedDoc {
  id: string;
  source: string;
  text: string;
  reason: string;
}

export interface ExclusionWriter {
  readonly file: string;
  add(doc: ExcludedDoc): void;
  /** The batch in work is finished: its lines are kept. */
  commit(): void;
  /** The batch in work is abandoned (restart): its lines are dropped. */
  discard(): void;
  close(): Promise<void>;
}

const FRAME_BYTES = 1 << 20;
const LEVEL = 3;

type Compress = (buf: Uint8Array, level: number) => Uint8Array;
let compressFn: Compress | null = null;

async function zstd(): Promise<Compress> {
  if (compressFn) return compressFn;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const z = require('@bokuweb/zstd-wasm') as { init(): Promise<void>; compress: Compress };
  await z.init();
  return (compressFn = z.compress);
}

export async function createExclusionWriter(dir: string, name: string): Promise<ExclusionWriter> {
  const compress = await zstd();
  const file = path.join(dir, `${name}.jsonl.zst`);
  let fd: number;
  try {
    mkdirSync(dir, { recursive: true });
    fd = openSync(file, 'w');
  } catch (e) {
    throw new PtflowError(`exclusion_dir ${dir}: cannot write ${file}: ${(e as Error).message}`, 2);
  }
  const encoder = new TextEncoder();
  let pending: string[] = [];
  let lines: string[] = [];
  let bytes = 0;
  const writeFrame = (): void => {
    if (lines.length === 0) return;
    writeSync(fd, compress(encoder.encode(lines.join('')), LEVEL));
    lines = [];
    bytes = 0;
  };
  const commit = (): void => {
    for (const l of pending) {
      lines.push(l);
      bytes += l.length;
    }
    pending = [];
    if (bytes >= FRAME_BYTES) writeFrame();
  };
  return {
    file,
    add(doc) {
      pending.push(JSON.stringify({ id: doc.id, source: doc.source, reason: doc.reason, text: doc.text }) + '\n');
    },
    commit,
    discard() {
      pending = [];
    },
    async close() {
      commit();
      writeFrame();
      closeSync(fd);
    },
  };
}
