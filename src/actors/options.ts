/**
 * A step's `options:` checked with the actor's own zod schema: the first problem names the step, the
 * YAML line and the option's path, e.g. "pipeline step 'gopher_quality' (cfg.yaml:14): option
 * 'min_doc_words' must be a number (Invalid input: expected number, received string)".
 */
import { PtflowError } from '../errors';
import type { ActorDefinition } from './api';

export function parseStepOptions<O>(def: ActorDefinition<O>, raw: unknown, where: string | ((path: readonly (string | number)[]) => string)): O {
  const at = (path: readonly (string | number)[]): string => (typeof where === 'string' ? where : where(path));
  const given = raw === undefined || raw === null ? {} : raw;
  if (!def.options) {
    if (typeof given === 'object' && Object.keys(given as object).length > 0) {
      throw new PtflowError(`${at([])}: actor '${def.name}' takes no options, got ${Object.keys(given as object).map((k) => `'${k}'`).join(', ')}`, 2);
    }
    return given as O;
  }
  const r = def.options.safeParse(given);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const path = issue.code === 'unrecognized_keys' && issue.keys.length > 0 ? [...issue.path, issue.keys[0]] : issue.path;
  const field = issue.path.length > 0 ? `option '${issue.path.join('.')}'` : 'options';
  const got = issue.path.reduce<unknown>((v, k) => (v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k as PropertyKey] : undefined), given);
  throw new PtflowError(`${at(path as (string | number)[])}: ${field}: ${issue.message}${got !== undefined ? `, got ${JSON.stringify(got)}` : ''}`, 2);
}
