/**
 * A project outside the repository uses ptflow as an installed package: `npm pack` makes the tarball,
 * it is unpacked into the project's node_modules as npm would (its dependencies linked from this
 * checkout's node_modules, so no network is needed), the project's own TypeScript actor type-checks
 * against the package's types, and `ptflow train` runs it from the installed package.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT, runCli, tinyDataset, tinyModelDir, tmpDir } from './helpers';

describe('ptflow installed from a packed tarball', () => {
  it('an outside project imports the API with types and runs its own actor', async () => {
    const dir = tmpDir('ptflow-pack-');
    execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], { cwd: ROOT, stdio: 'pipe' });
    const tgz = readdirSync(dir).find((f) => f.endsWith('.tgz'))!;
    const proj = path.join(dir, 'proj');
    const pkg = path.join(proj, 'node_modules', 'ptflow');
    mkdirSync(pkg, { recursive: true });
    execFileSync('tar', ['-xzf', path.join(dir, tgz), '-C', pkg, '--strip-components=1']);
    symlinkSync(path.join(ROOT, 'node_modules'), path.join(pkg, 'node_modules'), 'dir');
    // Only what `files` ships: the compiled entry and actors, no sources.
    expect(readFileSync(path.join(pkg, 'dist', 'src', 'index.d.ts'), 'utf8')).toMatch(/defineFilter/);
    expect(() => readFileSync(path.join(pkg, 'src', 'index.ts'))).toThrow();

    writeFileSync(path.join(proj, 'package.json'), JSON.stringify({ name: 'proj', version: '1.0.0', private: true }));
    writeFileSync(
      path.join(proj, 'no_word.ts'),
      `import { defineFilter, z, type FilterDoc } from 'ptflow';
export default defineFilter({
  name: 'no_word',
  options: z.object({ word: z.string() }),
  init: (o) => o.word,
  keep(text: string, _doc: FilterDoc, word: string) {
    return text.includes(word) ? 'has_word' : true;
  },
});
`,
    );
    writeFileSync(path.join(proj, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, module: 'node16', target: 'es2022', moduleResolution: 'node16', esModuleInterop: true, skipLibCheck: true, types: [] },
      files: ['no_word.ts', 'bad.ts'],
    }));
    // A type error the package's types must catch: keep() returning a number.
    writeFileSync(path.join(proj, 'bad.ts'), "import { defineFilter } from 'ptflow';\nexport default defineFilter({ name: 'bad', keep: () => 42 });\n");
    const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    let typeErrors = '';
    try {
      execFileSync(process.execPath, [tsc, '-p', proj], { cwd: proj, stdio: 'pipe' });
    } catch (e) {
      typeErrors = String((e as { stdout: Buffer }).stdout);
    }
    expect(typeErrors).toMatch(/bad\.ts\(2,\d+\): error TS2322: Type 'number' is not assignable to type 'string \| boolean'/);
    expect(typeErrors).not.toMatch(/no_word\.ts/);

    const model = tinyModelDir(proj);
    const data = tinyDataset(proj, 12);
    const texts = readFileSync(path.join(data, 'kjv.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { text: string }).text);
    const dropped = texts.filter((t) => t.includes('God')).length;
    expect(dropped).toBeGreaterThan(0);
    writeFileSync(path.join(proj, 'cfg.yaml'), [
      `model_name_or_path: ${model}`, 'train_from_scratch: true', 'do_train: true', 'finetuning_type: full', 'dataset: kjv', `dataset_dir: ${data}`,
      'cutoff_len: 16', 'per_device_train_batch_size: 2', 'max_steps: 1', 'save_steps: 10', 'output_dir: out',
      'pipeline:', '  - actor: ./no_word.ts', '    after: DatasetShardActor', '    options: { word: God }',
    ].join('\n') + '\n');
    const r = await runCli(['train', 'cfg.yaml'], { cwd: proj, cliPath: path.join(pkg, 'bin', 'ptflow.js'), env: { PTFLOW_NATIVE_BUILD: '0' } });
    if (r.code !== 0) throw new Error(r.stderr);
    const stats = JSON.parse(readFileSync(path.join(proj, 'out', 'pipeline_stats.json'), 'utf8'));
    expect(stats.steps.no_word).toEqual({ seen: 12, kept: 12 - dropped, dropped_has_word: dropped });
  }, 180_000);
});
