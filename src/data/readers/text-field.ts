/** Takes the text column out of one parsed record, with errors (RecordError) that name file:line and the column. */
import { RecordError } from './record-error';

export function textField(record: unknown, column: string, where: string): string {
  if (record === null || typeof record !== 'object' || Array.isArray(record)) {
    throw new RecordError(where, `expected a JSON object with a "${column}" key, got ${describe(record)}`);
  }
  const obj = record as Record<string, unknown>;
  if (!Object.prototype.hasOwnProperty.call(obj, column)) {
    const keys = Object.keys(obj);
    throw new RecordError(
      where,
      `missing text column "${column}" (keys: ${keys.length ? keys.join(', ') : 'none'}; set columns.prompt in dataset_info.json)`,
    );
  }
  const value = obj[column];
  if (typeof value !== 'string') {
    throw new RecordError(where, `text column "${column}" is ${describe(value)}, expected a string`);
  }
  return value;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return `a ${typeof v}`;
}
