import { BadRecordLog } from './bad-record-log';

describe('BadRecordLog', () => {
  it('counts each bad record once, however it was reached, and keeps the first', () => {
    const log = new BadRecordLog();
    const a = { file: 'a.jsonl', line: 2, byte: 14, reason: 'malformed JSON: x' };
    expect(log.add(a)).toBe(true);
    expect(log.add({ ...a })).toBe(false); // read again (next epoch, restart)
    expect(log.add({ file: 'a.jsonl', byte: 14, reason: 'malformed JSON: x' })).toBe(false); // after a seek: no line number
    expect(log.add({ file: 'b.jsonl', line: 2, byte: 14, reason: 'malformed JSON: x' })).toBe(true); // another file
    expect(log.add({ file: 'a.parquet', row: 3, reason: 'null' })).toBe(true);
    expect(log.add({ file: 'a.parquet', row: 4, reason: 'null' })).toBe(true);
    expect(log.add({ file: 'a.csv', line: 4, reason: 'malformed CSV: y' })).toBe(true);
    expect(log.add({ file: 'a.csv', line: 4, reason: 'malformed CSV: y' })).toBe(false);
    expect(log.count).toBe(5);
    expect(log.first).toEqual(a);
  });
});
