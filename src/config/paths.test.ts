import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTrainConfig } from './load';
import { resolveRelativePaths } from './paths';
import { resolveStepInterval } from './step-interval';

describe('resolveRelativePaths', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ptflow-paths-'));
  const file = join(dir, 'cfg.yaml');
  writeFileSync(file, 'model_name_or_path: models/tiny\noutput_dir: /abs/out\ndo_train: true\ndataset: d\ntokenized_path: cache/tok\nresume_from_checkpoint: out/checkpoint-5\n');
  const { config } = loadTrainConfig(file, []);

  it('resolves relative paths against the given base, keeps absolute ones', () => {
    const r = resolveRelativePaths(config, '/work/run');
    expect(r.model_name_or_path).toBe('/work/run/models/tiny');
    expect(r.output_dir).toBe('/abs/out');
    expect(r.dataset_dir).toBe('/work/run/data');
    expect(r.tokenized_path).toBe('/work/run/cache/tok');
    expect(r.resume_from_checkpoint).toBe('/work/run/out/checkpoint-5');
    expect(r.logging_dir).toBeNull();
    expect(config.model_name_or_path).toBe('models/tiny'); // input untouched
  });

  it('defaults to the current directory, not the YAML file directory', () => {
    expect(resolveRelativePaths(config).model_name_or_path).toBe(join(process.cwd(), 'models/tiny'));
  });

  it('leaves resume_from_checkpoint true / null alone', () => {
    expect(resolveRelativePaths({ ...config, resume_from_checkpoint: true }, '/x').resume_from_checkpoint).toBe(true);
    expect(resolveRelativePaths({ ...config, resume_from_checkpoint: null }, '/x').resume_from_checkpoint).toBeNull();
  });
});

describe('resolveStepInterval', () => {
  it('takes values below 1 as a ratio of the total steps, rounded up (HF)', () => {
    expect(resolveStepInterval(0.1, 95)).toBe(10); // ceil(9.5)
    expect(resolveStepInterval(0.25, 8)).toBe(2);
    expect(resolveStepInterval(0.001, 10)).toBe(1);
    expect(resolveStepInterval(50, 95)).toBe(50);
    expect(resolveStepInterval(1, 95)).toBe(1);
    expect(() => resolveStepInterval(0, 10)).toThrow(RangeError);
  });
});
