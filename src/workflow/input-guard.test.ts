import { mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { caseInsensitiveAt, overlap, refuseOutputOverInputs } from './input-guard';

const root = mkdtempSync(path.join(os.tmpdir(), 'ptflow-guard-'));

describe('caseInsensitiveAt (the probe, on this machine’s file system)', () => {
  it('says false for a directory here: its name with swapped case does not exist', () => {
    const d = path.join(root, 'probe', 'Work');
    mkdirSync(d, { recursive: true });
    expect(caseInsensitiveAt(d)).toBe(false);
  });

  it('says true where the swapped-case name reaches the same directory (as a case-insensitive file system answers stat)', () => {
    // A symlink makes `SAME` stat as `same`: exactly what stat answers on a case-insensitive file system.
    const parent = path.join(root, 'alias');
    mkdirSync(path.join(parent, 'same'), { recursive: true });
    symlinkSync('same', path.join(parent, 'SAME'));
    expect(caseInsensitiveAt(path.join(parent, 'same'))).toBe(true);
  });

  it('swaps the deepest component that has letters (digits-only names are skipped)', () => {
    const parent = path.join(root, 'digits');
    mkdirSync(path.join(parent, 'abc', '123'), { recursive: true });
    symlinkSync('abc', path.join(parent, 'ABC'));
    expect(caseInsensitiveAt(path.join(parent, 'abc', '123'))).toBe(true);
  });
});

describe('overlap of paths not created yet, by letter case', () => {
  // tokenized_path `Cache` and output_dir `cache/out`: neither exists, so only the text can be compared.
  const base = path.join(root, 'cmp');
  mkdirSync(base, { recursive: true });
  const input = path.join(base, 'Cache');
  const output = path.join(base, 'cache', 'out');

  it('a case-insensitive file system: `cache/out` is inside `Cache`', () => {
    expect(overlap(output, input, () => true)).toBe('inside');
    expect(overlap(path.join(base, 'CACHE'), input, () => true)).toBe('same');
    expect(overlap(path.join(base, 'CACHE', 'x'), input, () => true)).toBe('inside');
  });

  it('a case-sensitive one: they are different paths', () => {
    expect(overlap(output, input, () => false)).toBeNull();
  });

  it('the real probe here (case-sensitive): no overlap; output_dir refused only when the probe says case is ignored', () => {
    expect(overlap(output, input)).toBeNull();
    expect(() => refuseOutputOverInputs(output, [{ key: 'tokenized_path', path: input }])).not.toThrow();
    expect(() => refuseOutputOverInputs(output, [{ key: 'tokenized_path', path: input }], 'output_dir', () => true))
      .toThrow(/output_dir \S+\/cache\/out is inside tokenized_path \S+\/Cache/);
  });

  it('existing directories compare by device and inode whatever the probe says', () => {
    const m = path.join(base, 'model');
    mkdirSync(m);
    expect(overlap(m, m, () => true)).toBe('same');
    expect(overlap(path.join(base, 'Model'), m, () => false)).toBeNull();
  });
});
