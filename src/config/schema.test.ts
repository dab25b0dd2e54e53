import { configHelpText, CONFIG_KEYS, listConfigKeys, rawConfigSchema } from './schema';
import { FOREIGN_KEYS, KEY_ALIASES } from './foreign-keys';

describe('listConfigKeys', () => {
  const rows = listConfigKeys();

  it('lists every schema key once, with type, help and group', () => {
    expect(rows.map((r) => r.key)).toEqual([...CONFIG_KEYS]);
    expect(new Set(CONFIG_KEYS).size).toBe(CONFIG_KEYS.length);
    for (const r of rows) {
      expect(r.help.length).toBeGreaterThan(10);
      expect(r.type.length).toBeGreaterThan(0);
    }
    expect(rows.find((r) => r.key === 'learning_rate')).toMatchObject({ type: 'number', default: 5e-5, group: 'training' });
    expect(rows.find((r) => r.key === 'lora_rank')).toMatchObject({ type: 'integer', default: 8, group: 'finetuning' });
    expect(rows.find((r) => r.key === 'finetuning_type')).toMatchObject({ type: 'full | freeze | lora', default: 'lora' });
    expect(rows.find((r) => r.key === 'backend')).toMatchObject({ group: 'ptflow', default: 'auto' });
  });

  it('shows the defaults the schema actually fills', () => {
    const parsed = rawConfigSchema.parse({}) as Record<string, unknown>;
    for (const r of rows) {
      // Lists are shown as written in YAML ("all"), parsed as arrays.
      const shown = Array.isArray(parsed[r.key]) && !Array.isArray(r.default) ? (parsed[r.key] as string[]).join(',') : parsed[r.key];
      expect([r.key, shown]).toEqual([r.key, r.default]);
    }
  });

  it('keeps ignored keys and aliases apart from the schema keys', () => {
    for (const k of [...Object.keys(FOREIGN_KEYS), ...Object.keys(KEY_ALIASES)]) expect(CONFIG_KEYS).not.toContain(k);
  });
});

describe('configHelpText', () => {
  it('names every key with its default and the usage line', () => {
    const text = configHelpText();
    expect(text.startsWith('Usage: ptflow train <config.yaml> [key=value ...]\n')).toBe(true);
    for (const key of CONFIG_KEYS) expect(text).toMatch(new RegExp(`^  ${key} \\(`, 'm'));
    expect(text).toContain('  cutoff_len (integer, default 2048)');
    expect(text).toContain('  learning_rate (number, default 5e-5)');
    for (const line of text.split('\n')) expect(line.length).toBeLessThanOrEqual(100);
  });
});
