import { PtflowError } from '../../src/errors';
import { applyNativeFlag, parseBenchArgs } from './args';
import { median } from './stats';

describe('bench flags', () => {
  test('defaults and values', () => {
    expect(parseBenchArgs([], { steps: 5, reps: 10 })).toEqual({
      backend: 'wasm', threads: undefined, steps: 5, reps: 10, native: undefined, profile: false, json: false, allowSoftware: false,
    });
    expect(parseBenchArgs(['--backend', 'webgpu', '--allow-software'], { steps: 5, reps: 10 })).toMatchObject({ backend: 'webgpu', allowSoftware: true });
    expect(parseBenchArgs(['--backend', 'cpu', '--threads', '2', '--steps', '3', '--native', 'off', '--profile'], { steps: 5, reps: 10 }))
      .toMatchObject({ backend: 'cpu', threads: 2, steps: 3, native: false, profile: true });
  });
  test('bad values are usage errors naming the flag', () => {
    expect(() => parseBenchArgs(['--backend', 'gpu'], { steps: 1, reps: 1 })).toThrow(/--backend/);
    expect(() => parseBenchArgs(['--threads', '0'], { steps: 1, reps: 1 })).toThrow(PtflowError);
    expect(() => parseBenchArgs(['--steps', '2.5'], { steps: 1, reps: 1 })).toThrow(/--steps/);
    expect(() => parseBenchArgs(['--native', 'maybe'], { steps: 1, reps: 1 })).toThrow(/--native/);
  });
  test('--native off sets PTFLOW_NATIVE=0, on clears it', () => {
    const saved = process.env['PTFLOW_NATIVE'];
    applyNativeFlag(false);
    expect(process.env['PTFLOW_NATIVE']).toBe('0');
    applyNativeFlag(true);
    expect(process.env['PTFLOW_NATIVE']).toBeUndefined();
    if (saved !== undefined) process.env['PTFLOW_NATIVE'] = saved;
  });
  test('median', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });
});
