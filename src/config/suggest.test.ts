import { closest, editDistance } from './suggest';

describe('editDistance', () => {
  it('counts hand-derived edits', () => {
    expect(editDistance('', '')).toBe(0);
    expect(editDistance('abc', '')).toBe(3);
    expect(editDistance('kitten', 'sitting')).toBe(3); // k→s, e→i, +g
    expect(editDistance('learnig_rate', 'learning_rate')).toBe(1); // one insertion
    expect(editDistance('max_stpes', 'max_steps')).toBe(1); // adjacent swap costs 1
    expect(editDistance('ca', 'abc')).toBe(3); // OSA (not unrestricted Damerau, which gives 2)
  });

  it('is symmetric', () => {
    for (const [a, b] of [['cutoff_len', 'cutof_length'], ['seed', 'sed'], ['lora_rank', 'lora_alpha']]) {
      expect(editDistance(a, b)).toBe(editDistance(b, a));
    }
  });
});

describe('closest', () => {
  const keys = ['learning_rate', 'lora_rank', 'lora_alpha', 'max_steps', 'seed', 'save_steps'];
  it('suggests the nearest key for a typo', () => {
    expect(closest('learnig_rate', keys)).toBe('learning_rate');
    expect(closest('Learning_Rate', keys)).toBe('learning_rate');
    expect(closest('max_step', keys)).toBe('max_steps');
    expect(closest('lora_ranks', keys)).toBe('lora_rank');
  });
  it('suggests nothing for a word far from every key', () => {
    expect(closest('tokenizer_name', keys)).toBeUndefined();
    expect(closest('xyz', keys)).toBeUndefined();
  });
});
