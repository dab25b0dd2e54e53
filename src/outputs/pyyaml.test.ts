// Expected text is what PyYAML 6.0 `yaml.dump(data, sort_keys=False)` printed for the same data.
import { pyFloat } from './pyjson';
import { yamlDump, yamlFloat, yamlString } from './pyyaml';

test('model-card metadata as PyYAML dumps it', () => {
  const md = {
    library_name: 'transformers',
    license: 'other',
    base_model: 'meta-llama/Llama-2-7b-hf',
    tags: ['ptflow', 'full', 'generated_from_trainer'],
    datasets: ['c4_demo', 'wiki'],
    'model-index': [
      {
        name: 'pt',
        results: [
          {
            task: { name: 'Causal Language Modeling', type: 'text-generation' },
            dataset: { name: 'c4_demo', type: 'c4_demo' },
            metrics: [
              { name: 'Loss', type: 'loss', value: 2.3456 },
              { name: 'Perplexity', type: 'perplexity', value: Infinity },
              { name: 'x', type: 'y', value: 1e-5 },
              { name: 'x', type: 'y', value: pyFloat(3) },
              { name: 'x', type: 'y', value: 3 },
            ],
          },
        ],
      },
    ],
  };
  expect(yamlDump(md)).toBe(`library_name: transformers
license: other
base_model: meta-llama/Llama-2-7b-hf
tags:
- ptflow
- full
- generated_from_trainer
datasets:
- c4_demo
- wiki
model-index:
- name: pt
  results:
  - task:
      name: Causal Language Modeling
      type: text-generation
    dataset:
      name: c4_demo
      type: c4_demo
    metrics:
    - name: Loss
      type: loss
      value: 2.3456
    - name: Perplexity
      type: perplexity
      value: .inf
    - name: x
      type: y
      value: 1.0e-05
    - name: x
      type: y
      value: 3.0
    - name: x
      type: y
      value: 3
`);
  expect(yamlDump({ 'model-index': [{ name: 'pt', results: [] }] })).toBe('model-index:\n- name: pt\n  results: []\n');
});

test('string scalars quoted exactly where PyYAML quotes them', () => {
  const cases: [string, string][] = [
    ['a b', 'a b'],
    ['true', "'true'"],
    ['yes', "'yes'"],
    ['No', "'No'"],
    ['1.5', "'1.5'"],
    ['123', "'123'"],
    ['a: b', "'a: b'"],
    ['-x', '-x'],
    ['./models/x', './models/x'],
    ['/abs/p', '/abs/p'],
    ['x#y', 'x#y'],
    ['x #y', "'x #y'"],
    ['', "''"],
    ['null', "'null'"],
    ['~', "'~'"],
    ['Off', "'Off'"],
    ['1e5', '1e5'],
    ['0x1f', "'0x1f'"],
    ['@a', "'@a'"],
    ["'a", "'''a'"],
    ['"a', `'"a'`],
    ["a'b", "a'b"],
    ['é', '"\\xE9"'],
    ['{a', "'{a'"],
    ['*a', "'*a'"],
    ['a:b', 'a:b'],
    ['y', 'y'],
    ['2024-01-01', "'2024-01-01'"],
    ['12:30', "'12:30'"],
    ['with trailing ', "'with trailing '"],
    ['1_000', "'1_000'"],
    ['.inf', "'.inf'"],
    ['NaN', 'NaN'],
  ];
  for (const [s, want] of cases) expect([s, yamlString(s)]).toEqual([s, want]);
  expect([yamlFloat(NaN), yamlFloat(-Infinity), yamlFloat(1e16), yamlFloat(0.5)]).toEqual(['.nan', '-.inf', '1.0e+16', '0.5']);
});
