import { PtflowError } from '../errors';
import { parseOverrides, parseOverrideValue } from './overrides';

describe('parseOverrideValue', () => {
  it('reads values as YAML scalars', () => {
    expect(parseOverrideValue('10')).toBe(10);
    expect(parseOverrideValue('1e-4')).toBe(0.0001);
    expect(parseOverrideValue('false')).toBe(false);
    expect(parseOverrideValue('null')).toBeNull();
    expect(parseOverrideValue('')).toBeNull();
    expect(parseOverrideValue('a,b')).toBe('a,b');
    expect(parseOverrideValue('saves/run 1')).toBe('saves/run 1');
    expect(parseOverrideValue('"10"')).toBe('10');
    expect(parseOverrideValue('[a, b]')).toEqual(['a', 'b']);
    expect(parseOverrideValue('{num_cycles: 0.5}')).toEqual({ num_cycles: 0.5 });
    expect(parseOverrideValue('[unclosed')).toBe('[unclosed');
  });
});

describe('parseOverrides', () => {
  it('splits at the first = and records the argument', () => {
    expect(parseOverrides(['run_name=a=b', '--seed=3', 'lr_scheduler_kwargs.power=2'])).toEqual([
      { key: 'run_name', value: 'a=b', source: { kind: 'override', arg: 'run_name=a=b' } },
      { key: 'seed', value: 3, source: { kind: 'override', arg: '--seed=3' } },
      { key: 'lr_scheduler_kwargs', subkey: 'power', value: 2, source: { kind: 'override', arg: 'lr_scheduler_kwargs.power=2' } },
    ]);
  });

  it('rejects arguments without = or with a bad key, exit code 2', () => {
    for (const [arg, msg] of [
      ['cfg2.yaml', "bad argument 'cfg2.yaml' on the command line: expected key=value (e.g. max_steps=100)"],
      ['=3', "bad argument '=3' on the command line: '' is not a config key name"],
      ['a.b.c=1', "bad argument 'a.b.c=1' on the command line: 'a.b.c' is not a config key name"],
    ]) {
      let err: unknown;
      try {
        parseOverrides([arg]);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(PtflowError);
      expect((err as PtflowError).message).toBe(msg);
      expect((err as PtflowError).exitCode).toBe(2);
    }
  });
});
