import { z } from 'zod';
import { coerceBool, coerceNumber, int, list, num, optNumList, parseByteSize, atLeast } from './fields';

describe('coercions', () => {
  it('reads numeric strings as Python float()/int() would', () => {
    expect(coerceNumber('5e-5')).toBe(0.00005);
    expect(coerceNumber(' 10 ')).toBe(10);
    expect(coerceNumber('-1')).toBe(-1);
    expect(coerceNumber('.5')).toBe(0.5);
    expect(coerceNumber('3.')).toBe(3);
    expect(coerceNumber('1E+3')).toBe(1000);
    for (const s of ['abc', '1e', '0x10', '', '1,000', 'nan', 'inf']) expect(coerceNumber(s)).toBe(s);
  });

  it('reads HF string_to_bool words and 0 / 1', () => {
    for (const t of ['true', 'True', 'YES', 'y', 't', 'on', '1', 1]) expect(coerceBool(t)).toBe(true);
    for (const f of ['false', 'No', 'n', 'F', 'off', '0', 0]) expect(coerceBool(f)).toBe(false);
    for (const x of ['maybe', 2, null]) expect(coerceBool(x)).toBe(x);
  });

  it('reads byte sizes in powers of 1024', () => {
    expect(parseByteSize('256MiB')).toBe(268435456);
    expect(parseByteSize('256mb')).toBe(268435456);
    expect(parseByteSize('1.5G')).toBe(1610612736);
    expect(parseByteSize('512k')).toBe(524288);
    expect(parseByteSize('4096')).toBe(4096);
    expect(parseByteSize('2 TB')).toBe(2 * 1024 ** 4);
    expect(parseByteSize('lots')).toBe('lots');
    expect(parseByteSize(100)).toBe(100);
  });
});

describe('builders', () => {
  it('fill defaults and reject out-of-range values with the rule as message', () => {
    const s = z.object({ a: int(3, 'h', atLeast(1)), b: num(0.5, 'h'), c: list('x,y', 'h'), d: optNumList('h') });
    expect(s.parse({})).toEqual({ a: 3, b: 0.5, c: ['x', 'y'], d: null });
    expect(s.parse({ a: '7', b: '1e-3', c: 'p, q', d: '0.1,0.9' })).toEqual({ a: 7, b: 0.001, c: ['p', 'q'], d: [0.1, 0.9] });
    const bad = s.safeParse({ a: 0 });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0].message).toBe('must be >= 1');
    expect(s.safeParse({ b: Infinity }).error?.issues[0].message).toBe('must be a number');
  });

  it('give each parse its own copy of a list default', () => {
    const s = z.object({ c: list('all', 'h') });
    const first = s.parse({});
    first.c.push('mutated');
    expect(s.parse({}).c).toEqual(['all']);
  });
});
