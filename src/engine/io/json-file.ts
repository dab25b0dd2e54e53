/**
 * Reading a JSON file of a model directory (config.json, the sharded-checkpoint index): a file that
 * cannot be read, or text that does not parse, is a PtflowError naming the file (and line:col).
 */
import { promises as fsp } from 'node:fs';
import { jsonErrorAt, PtflowError } from '../../errors';

/** The parsed content of `file`, not yet checked for shape. */
export async function readJsonFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (e) {
    throw new PtflowError(`cannot read ${file}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    const at = jsonErrorAt(text, e);
    throw new PtflowError(`${file}:${at.line}:${at.col}: not valid JSON (${at.reason})`);
  }
}
