/**
 * Which files a dataset's `file_name` means, beyond a single file or a plain directory:
 *
 *   isGlobPattern(fileName)        "data/shard-*.jsonl.zst", "**\/*.parquet", "part-{0,1}.csv", "x-[0-9].txt"
 *   expandGlob(datasetDir, pattern) → matching files (not directories, not hidden ones), sorted by path,
 *                                     each as path.join(datasetDir, match); [] when nothing matches
 *   savedDatasetFiles(dir)          → the shards of a Hugging Face `save_to_disk` directory, in the
 *                                     order its state.json lists them; undefined for other directories
 *
 * Glob syntax is tinyglobby's (picomatch): `*`, `?`, `**`, `[...]`, `{a,b}`; matching is
 * case-sensitive and a leading "." must be spelled out. Sorting is by UTF-16 code units, so
 * "shard-00010" comes after "shard-00009" only when the numbers are zero-padded.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { globSync, isDynamicPattern } from 'tinyglobby';
import { z } from 'zod';
import { PtflowError } from '../../errors';

export function isGlobPattern(fileName: string): boolean {
  return isDynamicPattern(fileName);
}

export function expandGlob(datasetDir: string, pattern: string): string[] {
  const matches = globSync(pattern, { cwd: datasetDir, onlyFiles: true, dot: false, expandDirectories: false });
  return matches
    .map((m) => path.join(datasetDir, m))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

const stateSchema = z.looseObject({
  _data_files: z.array(z.looseObject({ filename: z.string().min(1) })).min(1),
});

/**
 * A `Dataset.save_to_disk` directory holds `data-0000i-of-0000n.arrow` shards (Arrow IPC stream
 * format) beside `dataset_info.json` and `state.json`; state.json's `_data_files` gives their order.
 */
export function savedDatasetFiles(dir: string): string[] | undefined {
  const stateFile = path.join(dir, 'state.json');
  if (!fs.existsSync(stateFile)) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
  } catch (e) {
    throw new PtflowError(`${stateFile}: invalid JSON: ${(e as Error).message}`, 2);
  }
  const state = stateSchema.safeParse(json);
  if (!state.success) return undefined; // some other state.json: not a saved dataset
  return state.data._data_files.map(({ filename }) => {
    const file = path.join(dir, filename);
    if (path.basename(filename) !== filename || !fs.existsSync(file)) {
      throw new PtflowError(`${stateFile}: lists data file "${filename}", which is not a file in ${dir}`, 2);
    }
    return file;
  });
}
