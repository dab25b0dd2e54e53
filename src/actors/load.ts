/**
 * Resolves a pipeline step's `actor:` to its definition: a built-in name (src/actors/builtin/), or a
 * module path relative to the YAML (.ts, .mts, .cts, .js, .cjs, .mjs) whose default export is the actor.
 * TypeScript and ES modules load without a build step through jiti (a runtime dependency: a user's
 * .ts file must load from the installed package, where ts-node / swc, dev-only here, are absent);
 * inside a user module `import … from 'ptflow'` resolves to this very package.
 *
 * Runs on the main thread (to check the pipeline before any thread starts) and again in the step's
 * worker thread.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { PtflowError } from '../errors';
import { packageRoot } from '../pipeline/compiled';
import { isActorDefinition, type ActorDefinition } from './api';
import { BUILTIN_ACTORS } from './builtin';

export type ActorRef = { kind: 'builtin'; name: string } | { kind: 'module'; file: string };

const MODULE_EXT = /\.(ts|mts|cts|js|cjs|mjs)$/;

/** `actor:` as written → what to load; `yamlDir` anchors relative module paths. */
export function actorRef(spec: string, yamlDir: string, where: string): ActorRef {
  if (BUILTIN_ACTORS[spec] !== undefined) return { kind: 'builtin', name: spec };
  const looksLikePath = spec.startsWith('.') || spec.startsWith('/') || MODULE_EXT.test(spec);
  if (!looksLikePath) {
    throw new PtflowError(`${where}: unknown actor '${spec}': built-ins are ${Object.keys(BUILTIN_ACTORS).join(', ')}; a module is a path such as ./my_filter.ts`, 2);
  }
  const file = path.resolve(yamlDir, spec);
  if (!MODULE_EXT.test(file)) throw new PtflowError(`${where}: actor module '${spec}' must end in .ts, .mts, .cts, .js, .cjs or .mjs`, 2);
  if (!existsSync(file)) throw new PtflowError(`${where}: actor module '${spec}' not found (looked for ${file})`, 2);
  return { kind: 'module', file };
}

type Jiti = (id: string) => unknown;
let jiti: Jiti | null = null;

function loader(): Jiti {
  if (jiti) return jiti;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { createJiti } = require('jiti') as { createJiti(from: string, o: object): { (id: string): unknown } };
  // The package entry as built (a test runner may run these sources, but user modules get the build).
  const built = path.join(packageRoot(), 'dist', 'src', 'index.js');
  const entry = existsSync(built) ? built : require.resolve('../index');
  const j = createJiti(__filename, { alias: { ptflow: entry }, moduleCache: true, fsCache: false, interopDefault: true });
  return (jiti = (id) => j(id));
}

export function loadActor(ref: ActorRef, where: string): ActorDefinition {
  if (ref.kind === 'builtin') return BUILTIN_ACTORS[ref.name];
  let mod: unknown;
  try {
    mod = loader()(ref.file);
  } catch (e) {
    throw new PtflowError(`${where}: cannot load actor module ${ref.file}: ${(e as Error).message.split('\n')[0]}`, 2);
  }
  // `in`, not a read: the loader's interop answers any `.default` read on a module without one.
  const def = mod !== null && typeof mod === 'object' && 'default' in mod ? (mod as { default: unknown }).default : undefined;
  if (!isActorDefinition(def)) {
    const got = def === undefined ? 'no default export' : `a default export that is ${typeof def === 'object' ? 'an object' : typeof def} made without defineActor/defineFilter`;
    throw new PtflowError(`${where}: module ${ref.file} has ${got}; its default export must be the actor (export default defineActor({...}) or defineFilter({...}))`, 2);
  }
  return def;
}
