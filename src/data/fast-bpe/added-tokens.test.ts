// Added-token splitting (longest match at the leftmost position) and lstrip/rstrip, by hand.
import { stripAround, TokenSplitter } from './added-tokens';

test('cuts tokens out, longest match first, text between stays', () => {
  const s = new TokenSplitter(['<a>', '<ab>', '<abc>', 'xy']);
  expect(s.split('1<ab>2<abc>3<a>')).toEqual(['1', '<ab>', '2', '<abc>', '3', '<a>']);
  expect(s.split('<a><a>')).toEqual(['<a>', '<a>']);
  expect(s.split('<abd>')).toEqual(['<abd>']); // '<ab' is a prefix of tokens but no token ends there
  expect(s.split('<<a>')).toEqual(['<', '<a>']);
  expect(s.split('xxyy')).toEqual(['x', 'xy', 'y']);
  expect(s.split('plain text')).toEqual(['plain text']);
  expect(s.split('')).toEqual([]);
});

test('overlapping tokens: the earlier start wins even when a later one is longer', () => {
  const s = new TokenSplitter(['ab', 'bcdef']);
  expect(s.split('abcdef')).toEqual(['ab', 'cdef']);
});

test('no tokens: the text is one section', () => {
  const s = new TokenSplitter([]);
  expect(s.empty).toBe(true);
  expect(s.split('a<b>c')).toEqual(['a<b>c']);
});

test('lstrip trims the section before, rstrip the one after', () => {
  const flags = new Map([
    ['<L>', { lstrip: true, rstrip: false }],
    ['<R>', { lstrip: false, rstrip: true }],
  ]);
  const sections = ['a \n', '<L>', ' b ', '<R>', '\t c '];
  stripAround(sections, flags);
  expect(sections).toEqual(['a', '<L>', ' b ', '<R>', 'c ']);
  const edge = ['<R>'];
  stripAround(edge, flags);
  expect(edge).toEqual(['<R>']);
});
