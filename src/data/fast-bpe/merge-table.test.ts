// The merge hash table against a Map on many random pairs (forcing collisions), and repeats.
import { MergeTable } from './merge-table';
import { seededRandom } from './test-text';

test('finds every stored pair and no others', () => {
  const rand = seededRandom(3);
  const table = new MergeTable(20000);
  const ref = new Map<string, [number, number]>();
  for (let i = 0; i < 20000; i++) {
    const a = Math.floor(rand() * 300);
    const b = Math.floor(rand() * 300);
    table.set(a, b, i, 1000 + i);
    ref.set(`${a},${b}`, [i, 1000 + i]);
  }
  expect(table.size).toBe(ref.size);
  const wrong: string[] = [];
  for (let a = 0; a < 300; a++) {
    for (let b = 0; b < 300; b++) {
      const slot = table.find(a, b);
      const want = ref.get(`${a},${b}`);
      const got = slot < 0 ? undefined : [table.rank(slot), table.merged(slot)];
      if (JSON.stringify(got) !== JSON.stringify(want)) wrong.push(`${a},${b}`);
    }
  }
  expect(wrong).toEqual([]);
});

test('a repeated pair keeps the last rank (as the reference map does)', () => {
  const table = new MergeTable(4);
  table.set(1, 2, 0, 10);
  table.set(1, 2, 5, 11);
  expect(table.size).toBe(1);
  const slot = table.find(1, 2);
  expect(table.rank(slot)).toBe(5);
  expect(table.merged(slot)).toBe(11);
  expect(table.find(2, 1)).toBe(-1);
});
