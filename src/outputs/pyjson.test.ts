// Expected strings below are what CPython 3.11's json.dumps / repr / round print for the same input.
import { PtflowError } from '../errors';
import { PyFloat, pyDumps, pyFloat, pyFloatRepr, pyLoads, pyLoadsMarked, pyRound, pyIntStr } from './pyjson';

describe('pyFloatRepr matches repr(float)', () => {
  const cases: [number, string][] = [
    [0.1, '0.1'],
    [1e16, '1e+16'],
    [1e15, '1000000000000000.0'],
    [123456789012345678.0, '1.2345678901234568e+17'],
    [0.0001, '0.0001'],
    [0.00012, '0.00012'],
    [1.5e-7, '1.5e-07'],
    [5e-5, '5e-05'],
    [2.0, '2.0'],
    [-0.0, '-0.0'],
    [0, '0.0'],
    [1e100, '1e+100'],
    [5e-324, '5e-324'],
    [12345.678, '12345.678'],
    [1 / 3, '0.3333333333333333'],
    [9007199254740993.0, '9007199254740992.0'],
    [1e22, '1e+22'],
    [2 ** 70, '1.1805916207174113e+21'],
    [-2.5e-5, '-2.5e-05'],
    [Infinity, 'inf'],
    [NaN, 'nan'],
  ];
  test.each(cases)('%p -> %s', (x, want) => expect(pyFloatRepr(x)).toBe(want));
});

describe('pyRound matches round(x, n)', () => {
  const cases: [number, number, number][] = [
    [2.675, 2, 2.67], // binary value is below the tie
    [0.03125, 4, 0.0312], // exact tie -> even
    [0.09375, 4, 0.0938], // exact tie -> even (up)
    [0.15625, 4, 0.1562],
    [-0.03125, 4, -0.0312],
    [0.5, 0, 0],
    [1.5, 0, 2],
    [2.5, 0, 2],
    [-2.5, 0, -2],
    [0.00005, 4, 0.0001],
    [1.23456789, 4, 1.2346],
    [0.12345, 4, 0.1235],
    [1.00005, 4, 1.0001],
    [123.456789, 3, 123.457],
    [0.000049999, 4, 0],
  ];
  test.each(cases)('round(%p, %p) = %p', (x, n, want) => expect(pyRound(x, n)).toBe(want));
  test('keeps non-finite values and the sign of zero', () => {
    expect(pyRound(Infinity, 4)).toBe(Infinity);
    expect(Number.isNaN(pyRound(NaN, 4))).toBe(true);
    expect(Object.is(pyRound(-0.00001, 4), -0)).toBe(true);
  });
});

describe('pyDumps matches json.dumps', () => {
  test('indent 4, sort_keys, float marker, Infinity', () => {
    // json.dumps({"b": 1.0, "a": 1e-05, "c": float("inf")}, indent=4, sort_keys=True)
    expect(pyDumps({ b: pyFloat(1), a: 1e-5, c: Infinity }, { indent: 4, sortKeys: true })).toBe(
      '{\n    "a": 1e-05,\n    "b": 1.0,\n    "c": Infinity\n}',
    );
  });
  test('one line, ensure_ascii escapes, insertion order', () => {
    // json.dumps({"x": [1, 2.5, None, True], "é": "ü\n\x7f\x01😀"})
    expect(pyDumps({ x: [1, 2.5, null, true], é: 'ü\n\x7f\x01😀' })).toBe(
      '{"x": [1, 2.5, null, true], "\\u00e9": "\\u00fc\\n\\u007f\\u0001\\ud83d\\ude00"}',
    );
  });
  test('empty containers, nesting, NaN and -Infinity', () => {
    // json.dumps({"a": [], "b": {}, "c": [{"d": nan, "e": -inf}]}, indent=2, sort_keys=True)
    expect(pyDumps({ c: [{ e: -Infinity, d: NaN }], b: {}, a: [] }, { indent: 2, sortKeys: true })).toBe(
      '{\n  "a": [],\n  "b": {},\n  "c": [\n    {\n      "d": NaN,\n      "e": -Infinity\n    }\n  ]\n}',
    );
  });
  test('floatKeys, big ints, undefined dropped, ensure_ascii off', () => {
    expect(pyDumps({ epoch: 3, step: 3, n: 2 ** 60, gone: undefined, s: 'é' }, { floatKeys: new Set(['epoch']), ensureAscii: false })).toBe(
      '{"epoch": 3.0, "step": 3, "n": 1152921504606846976, "s": "é"}',
    );
    expect(pyIntStr(1e21)).toBe('1000000000000000000000');
  });
  test('sort_keys uses code point order', () => {
    expect(pyDumps({ b: 1, B: 2, _: 3, a: 4 }, { sortKeys: true })).toBe('{"B": 2, "_": 3, "a": 4, "b": 1}');
  });
});

describe('pyLoads', () => {
  test('reads Python literals and round-trips through pyDumps', () => {
    const text = '{\n  "a": NaN,\n  "b": [\n    Infinity,\n    -Infinity,\n    -1.5e-07,\n    3\n  ],\n  "c": "\\u00e9"\n}';
    const v = pyLoads(text, 'x.json') as { a: number; b: number[]; c: string };
    expect(Number.isNaN(v.a)).toBe(true);
    expect(v.b).toEqual([Infinity, -Infinity, -1.5e-7, 3]);
    expect(v.c).toBe('é');
    expect(pyDumps(v, { indent: 2 })).toBe(text);
  });
  test('pyLoadsMarked keeps the int/float spelling, so a rewrite is byte-identical', () => {
    const text = '{\n    "a": 1.0,\n    "b": 2,\n    "c": [\n        1e-05,\n        -Infinity\n    ]\n}';
    const v = pyLoadsMarked(text, 'all_results.json') as { a: PyFloat; b: number };
    expect(v.a).toBeInstanceOf(PyFloat);
    expect(v.b).toBe(2);
    expect(pyDumps(v, { indent: 4 })).toBe(text);
  });
  test('errors name the file, line and column', () => {
    expect(() => pyLoads('{\n  "a": 1,\n  "b": tru\n}', 'run/trainer_state.json')).toThrow(PtflowError);
    expect(() => pyLoads('{\n  "a": 1,\n  "b": tru\n}', 'run/trainer_state.json')).toThrow(
      /run\/trainer_state\.json:3:8: invalid JSON/,
    );
    expect(() => pyLoads('[1, 2', 'f.json')).toThrow(/f\.json:1:6/);
    expect(() => pyLoads('{} x', 'f.json')).toThrow(/extra data/);
  });
});
