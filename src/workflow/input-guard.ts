/**
 * A run never writes over what it reads. `output_dir` equal to, inside, or containing an input (the
 * model directory, a dataset directory or file, `tokenized_path`, `logging_dir`) is refused before any
 * work: otherwise the final `config.json` / weights land on the model's own files, or the outputs
 * appear inside a dataset directory and break every later run.
 *
 * Paths are compared as the file system sees them, not as strings: each existing ancestor of a path is
 * identified by its device and inode, so symlinks, `..`, bind mounts and case-insensitive file systems
 * (where `Model` and `model` are one directory) all compare equal when they are the same directory.
 * The part of a path not created yet can only be compared as text: there, letter case is ignored where
 * the file system under it ignores it (probed: `caseInsensitiveAt`).
 */
import { realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { PtflowError } from '../errors';

export interface GuardedInput {
  /** The config key the path came from, as the user wrote it (e.g. `model_name_or_path`). */
  key: string;
  path: string;
  /**
   * Allow output_dir to contain this path. Only for `logging_dir`: HF's default puts it inside
   * output_dir (`output_dir/runs/...`), and ptflow does not read it.
   */
  mayBeInsideOutput?: boolean;
}

interface Identity {
  /** `dev:ino` of each existing directory from the path itself (or its deepest existing ancestor) to the root. */
  chain: string[];
  /** `dev:ino` of the path itself, or null when it does not exist. */
  self: string | null;
  /** The real path of the deepest existing ancestor joined with the rest (for paths not created yet). */
  real: string;
  /** The file system under the deepest existing ancestor ignores letter case. */
  caseInsensitive: boolean;
}

/** Says whether the file system holding existing directory `dir` ignores letter case. */
export type CaseProbe = (dir: string) => boolean;

/**
 * Probes the file system itself: the deepest component of `dir` that has letters, with its case
 * swapped, names the same file (device and inode) only where case is ignored. Creates nothing. When
 * no component on the same device has letters, says true: comparing without case can only refuse more.
 */
export const caseInsensitiveAt: CaseProbe = (dir) => {
  const self = statOrNull(dir);
  if (!self) return true;
  for (let d = dir; path.dirname(d) !== d; d = path.dirname(d)) {
    const base = path.basename(d);
    const swapped = [...base].map((ch) => (ch === ch.toLowerCase() ? ch.toUpperCase() : ch.toLowerCase())).join('');
    if (swapped === base) continue; // no letters with case
    const here = statOrNull(d);
    if (!here || here.dev !== self.dev) return true; // left the file system without finding a letter
    const other = statOrNull(path.join(path.dirname(d), swapped));
    return other !== null && other.dev === here.dev && other.ino === here.ino;
  }
  return true;
};

function statOrNull(p: string): { dev: number; ino: number } | null {
  try {
    const st = statSync(p);
    return { dev: st.dev, ino: st.ino };
  } catch {
    return null;
  }
}

/** `p` as a case-insensitive file system compares it (Unicode case folding after NFC). */
function folded(p: string): string {
  return p.normalize('NFC').toLowerCase();
}

function idOf(p: string): string | null {
  try {
    const st = statSync(p);
    return `${st.dev}:${st.ino}`;
  } catch {
    return null;
  }
}

function identity(p: string, probe: CaseProbe): Identity {
  const abs = path.resolve(p);
  let existing = abs;
  while (idOf(existing) === null && path.dirname(existing) !== existing) existing = path.dirname(existing);
  let real = existing;
  try {
    real = realpathSync.native(existing);
  } catch {
    // unreadable: fall back to the lexical path
  }
  const rest = path.relative(existing, abs);
  const chain: string[] = [];
  for (let d = real; ; d = path.dirname(d)) {
    const id = idOf(d);
    if (id !== null) chain.push(id);
    if (path.dirname(d) === d) break;
  }
  return { chain, self: idOf(p), real: rest ? path.join(real, rest) : real, caseInsensitive: rest !== '' && probe(real) };
}

/** How `output` relates to `input` on disk: the same path, inside it, containing it, or unrelated. */
export function overlap(output: string, input: string, probe: CaseProbe = caseInsensitiveAt): 'same' | 'inside' | 'contains' | null {
  const o = identity(output, probe);
  const i = identity(input, probe);
  if (i.self === null) {
    // Not created yet (a tokenized_path the run will build): compare where both would be.
    const fold = o.caseInsensitive || i.caseInsensitive;
    const or = fold ? folded(o.real) : o.real;
    const ir = fold ? folded(i.real) : i.real;
    if (or === ir) return 'same';
    if (or.startsWith(ir + path.sep)) return 'inside';
    if (ir.startsWith(or + path.sep)) return 'contains';
    return null;
  }
  if (o.self !== null && o.self === i.self) return 'same';
  if (o.self === null) {
    // output_dir does not exist yet: it is inside the input when an existing ancestor is the input.
    return o.chain.includes(i.self) ? 'inside' : null;
  }
  if (o.chain.slice(1).includes(i.self)) return 'inside';
  if (i.chain.slice(1).includes(o.self)) return 'contains';
  return null;
}

/** Throws a usage error naming both keys when `outputDir` overlaps any of `inputs`. */
export function refuseOutputOverInputs(outputDir: string, inputs: readonly GuardedInput[], outputKey = 'output_dir', probe: CaseProbe = caseInsensitiveAt): void {
  const found = inputs
    .map((inp) => ({ inp, rel: overlap(outputDir, inp.path, probe) }))
    .filter(({ inp, rel }) => rel !== null && !(rel === 'contains' && inp.mayBeInsideOutput));
  // Name the most specific overlap: the input output_dir is, before those it is inside or contains.
  found.sort((a, b) => Number(b.rel === 'same') - Number(a.rel === 'same'));
  for (const { inp, rel } of found) {
    const how = rel === 'same' ? 'is the same path as' : rel === 'inside' ? 'is inside' : 'contains';
    throw new PtflowError(
      `${outputKey} ${outputDir} ${how} ${inp.key} ${inp.path}: a run never writes where its inputs are ` +
        `(it would overwrite or add to them). Choose an ${outputKey} outside every input.`,
      2,
    );
  }
}

/** Every path a training run reads, with the config key it came from. */
export function trainInputs(c: {
  model_name_or_path: string;
  dataset_dir: string;
  tokenized_path: string | null;
  logging_dir: string | null;
}, datasets: readonly { name: string; files: readonly string[] }[]): GuardedInput[] {
  const inputs: GuardedInput[] = [{ key: 'model_name_or_path', path: c.model_name_or_path }];
  if (datasets.length > 0) inputs.push({ key: 'dataset_dir', path: c.dataset_dir });
  for (const d of datasets) {
    for (const f of d.files) inputs.push({ key: `the data file of dataset "${d.name}"`, path: path.resolve(c.dataset_dir, f) });
  }
  if (c.tokenized_path) inputs.push({ key: 'tokenized_path', path: c.tokenized_path });
  if (c.logging_dir) inputs.push({ key: 'logging_dir', path: c.logging_dir, mayBeInsideOutput: true });
  return inputs;
}
