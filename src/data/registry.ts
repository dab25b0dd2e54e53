/**
 * The dataset registry: reads `dataset_dir/dataset_info.json` and resolves the `dataset` /
 * `eval_dataset` names of a config to local files, as LLaMA-Factory's `get_dataset_list` and
 * `_load_single_dataset` do for stage pt.
 *
 *   resolveDatasets(datasetDir, names) → DatasetSpec[]
 *
 * Differences from the reference, on purpose: hub / script / cloud entries are an error unless a
 * local `file_name` exists (ptflow reads no network); a directory's files are read in sorted name
 * order (Python's `os.listdir` order is arbitrary) and hidden files (".name") are skipped;
 * `file_name` may also be a glob ("data/shard-*.jsonl.zst", sorted by path) or a Hugging Face
 * `save_to_disk` directory (its .arrow shards in state.json order); any file may be .gz / .zst;
 * `columns.prompt` defaults to "text" (LLaMA-Factory's default, "instruction", is for alpaca SFT data).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { jsonErrorAt, PtflowError } from '../errors';
import { stripCompression } from './readers/compression';
import { expandGlob, isGlobPattern, savedDatasetFiles } from './readers/glob';

export const DATASET_FORMATS = ['jsonl', 'json', 'txt', 'csv', 'parquet', 'arrow'] as const;
export type DatasetFormat = (typeof DATASET_FORMATS)[number];

/** A dataset resolved to local files. */
export interface DatasetSpec {
  name: string;
  /** Absolute or dataset_dir-relative paths, in read order. */
  files: string[];
  format: DatasetFormat;
  /** The column holding the document text (`columns.prompt`, default "text"). */
  textColumn: string;
  /** `num_samples`: sample this many documents (with repetition when larger than the dataset). */
  numSamples?: number;
}

export const DATASET_INFO_FILE = 'dataset_info.json';

/** File extension → format. json and jsonl may be mixed in one directory (HF reads both as "json"). */
const EXT_FORMAT: Record<string, DatasetFormat> = {
  jsonl: 'jsonl',
  json: 'json',
  txt: 'txt',
  csv: 'csv',
  parquet: 'parquet',
  arrow: 'arrow',
};

const entrySchema = z.looseObject({
  file_name: z.string().min(1).optional(),
  hf_hub_url: z.string().optional(),
  ms_hub_url: z.string().optional(),
  om_hub_url: z.string().optional(),
  script_url: z.string().optional(),
  cloud_file_name: z.string().optional(),
  formatting: z.string().optional(),
  ranking: z.boolean().optional(),
  num_samples: z.number().int().positive().optional(),
  columns: z.record(z.string(), z.string().nullable()).optional(),
});
type DatasetInfoEntry = z.infer<typeof entrySchema>;

const infoSchema = z.record(z.string(), z.unknown());

/** Read and validate `dataset_info.json`; errors name the file (and the entry / key). */
export function readDatasetInfo(datasetDir: string): Map<string, DatasetInfoEntry> {
  const file = path.join(datasetDir, DATASET_INFO_FILE);
  let raw: string;
  try {
    raw = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new PtflowError(`Cannot open ${file}: ${(e as Error).message} (dataset_dir: ${datasetDir})`, 2);
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (e) {
    const at = jsonErrorAt(raw, e);
    throw new PtflowError(`${file}:${at.line}:${at.col}: invalid JSON: ${at.reason}`, 2);
  }
  const top = infoSchema.safeParse(json);
  if (!top.success) throw new PtflowError(`${file}: expected an object of dataset entries`, 2);
  const out = new Map<string, DatasetInfoEntry>();
  for (const [name, value] of Object.entries(top.data)) {
    const parsed = entrySchema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const key = issue.path.length ? issue.path.join('.') : '(entry)';
      throw new PtflowError(`${file}: dataset "${name}", key "${key}": ${issue.message}`, 2);
    }
    out.set(name, parsed.data);
  }
  return out;
}

/** Split a `dataset` value ("a, b" or ["a", "b"]) into names. */
export function parseDatasetNames(names: string | readonly string[]): string[] {
  const list = typeof names === 'string' ? names.split(',') : [...names];
  const trimmed = list.map((n) => n.trim());
  if (trimmed.length === 0 || trimmed.some((n) => n === '')) {
    throw new PtflowError(`dataset: empty dataset name in ${JSON.stringify(names)}`, 2);
  }
  return trimmed;
}

/** Resolve dataset names to local files. */
export function resolveDatasets(datasetDir: string, names: string | readonly string[]): DatasetSpec[] {
  if (datasetDir === 'ONLINE' || datasetDir.startsWith('REMOTE:')) {
    throw new PtflowError(`dataset_dir "${datasetDir}": hub datasets are not supported; use a local directory with ${DATASET_INFO_FILE}`, 2);
  }
  const info = readDatasetInfo(datasetDir);
  const infoFile = path.join(datasetDir, DATASET_INFO_FILE);
  return parseDatasetNames(names).map((name) => {
    const entry = info.get(name);
    if (!entry) {
      const known = [...info.keys()].sort();
      throw new PtflowError(
        `Undefined dataset "${name}" in ${infoFile}. Known datasets: ${known.length ? known.join(', ') : '(none)'}`,
        2,
      );
    }
    return resolveEntry(datasetDir, infoFile, name, entry);
  });
}

function resolveEntry(datasetDir: string, infoFile: string, name: string, entry: DatasetInfoEntry): DatasetSpec {
  const where = `${infoFile}: dataset "${name}"`;
  const remote = (['hf_hub_url', 'ms_hub_url', 'om_hub_url', 'script_url', 'cloud_file_name'] as const).filter(
    (k) => entry[k] !== undefined,
  );
  const localPath = entry.file_name === undefined ? undefined : path.join(datasetDir, entry.file_name);
  if (remote.length > 0 && (localPath === undefined || !fs.existsSync(localPath))) {
    throw new PtflowError(
      `${where} is loaded from ${remote.map((k) => `${k} "${entry[k]}"`).join(', ')}; ptflow reads local files only ` +
        `(no network): download it and set "file_name"${localPath ? ` (${localPath} does not exist)` : ''}`,
      2,
    );
  }
  if (localPath === undefined) throw new PtflowError(`${where} has no "file_name"`, 2);
  const formatting = entry.formatting ?? 'alpaca';
  if (formatting !== 'alpaca') {
    throw new PtflowError(
      `${where}: formatting "${formatting}" is not applicable to pre-training (stage pt reads one text column; use the default "alpaca" with columns.prompt)`,
      2,
    );
  }
  if (entry.ranking === true) {
    throw new PtflowError(`${where}: "ranking": true is a preference dataset, not applicable to pre-training (stage pt)`, 2);
  }
  let listed: { files: string[]; format: DatasetFormat };
  try {
    listed = listFiles(localPath, datasetDir, entry.file_name ?? '');
  } catch (e) {
    // Say which entry of which dataset_info.json points at the missing / unreadable files.
    if (e instanceof PtflowError) throw new PtflowError(`${e.message.replace(/\.$/, '')} (file_name of dataset "${name}" in ${infoFile})`, e.exitCode);
    throw e;
  }
  const { files, format } = listed;
  const spec: DatasetSpec = { name, files, format, textColumn: entry.columns?.prompt ?? 'text' };
  if (entry.num_samples !== undefined) spec.numSamples = entry.num_samples;
  return spec;
}

function formatOf(file: string): DatasetFormat | undefined {
  const ext = path.extname(stripCompression(file)).slice(1).toLowerCase();
  return Object.prototype.hasOwnProperty.call(EXT_FORMAT, ext) ? EXT_FORMAT[ext] : undefined;
}

const ALLOWED = `${Object.keys(EXT_FORMAT).join(', ')} (each optionally compressed: .gz, .zst)`;

/** A file, every (non-hidden) file of a directory, or the files a glob matches; all of one format. */
function listFiles(localPath: string, datasetDir: string, fileName: string): { files: string[]; format: DatasetFormat } {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(localPath);
  } catch {
    if (isGlobPattern(fileName)) {
      const matches = expandGlob(datasetDir, fileName);
      if (matches.length === 0) throw new PtflowError(`No files match ${localPath}`, 2);
      return oneFormat(`Files matching ${localPath}`, matches);
    }
    throw new PtflowError(`File ${localPath} not found.`, 2);
  }
  if (stat.isFile()) {
    const format = formatOf(localPath);
    if (!format) throw new PtflowError(`${localPath}: unsupported file type; allowed file types: ${ALLOWED}`, 2);
    return { files: [localPath], format };
  }
  if (!stat.isDirectory()) throw new PtflowError(`${localPath} is neither a file nor a directory`, 2);
  const saved = savedDatasetFiles(localPath);
  if (saved) return oneFormat(`Directory ${localPath}`, saved);
  const names = fs
    .readdirSync(localPath, { withFileTypes: true })
    .filter((d) => !d.name.startsWith('.'))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (names.length === 0) throw new PtflowError(`Directory ${localPath} contains no data files`, 2);
  const files: string[] = [];
  for (const d of names) {
    const full = path.join(localPath, d.name);
    if (!fs.statSync(full).isFile()) {
      throw new PtflowError(`Directory ${localPath} contains ${d.name}, which is not a file (sub-directories are not read)`, 2);
    }
    files.push(full);
  }
  return oneFormat(`Directory ${localPath}`, files);
}

/** The common format of `files` (`what` names them in errors). */
function oneFormat(what: string, files: string[]): { files: string[]; format: DatasetFormat } {
  const formats = new Set<DatasetFormat>();
  for (const full of files) {
    const format = formatOf(full);
    if (!format) throw new PtflowError(`${full}: unsupported file type; allowed file types: ${ALLOWED}`, 2);
    formats.add(format);
  }
  // json and jsonl share a reader (the json reader accepts JSON lines too), as HF's "json" builder does.
  if (formats.size === 2 && formats.has('json') && formats.has('jsonl')) return { files, format: 'json' };
  if (formats.size > 1) {
    throw new PtflowError(`${what} mixes file types (${[...formats].sort().join(', ')}); file types should be identical`, 2);
  }
  return { files, format: [...formats][0] };
}
