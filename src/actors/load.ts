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
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
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
/** The files the loader transpiles (TypeScript, ES modules) while one module loads. */
let transpiling: Set<string> | null = null;

function loader(): Jiti {
  if (jiti) return jiti;
  type Options = { alias?: object; moduleCache?: boolean; fsCache?: boolean; interopDefault?: boolean; transform?: (o: { filename?: string }) => { code: string } };
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { createJiti } = require('jiti') as { createJiti(from: string, o: Options): { (id: string): unknown; transform(o: object): string } };
  // The package entry as built (a test runner may run these sources, but user modules get the build).
  const built = path.join(packageRoot(), 'dist', 'src', 'index.js');
  const entry = existsSync(built) ? built : require.resolve('../index');
  const stock = createJiti(__filename, { fsCache: false });
  const j = createJiti(__filename, {
    alias: { ptflow: entry }, moduleCache: true, fsCache: false, interopDefault: true,
    // The stock transform, noting each file it is given: the module's own imports, for its hash.
    transform: (o) => {
      if (o.filename !== undefined) transpiling?.add(path.resolve(o.filename));
      return { code: stock.transform(o) };
    },
  });
  return (jiti = (id) => j(id));
}

/** Node's own module cache, where the loader keeps every file it loads (jest's `require.cache` is not it). */
const moduleCache = (): Record<string, unknown> => createRequire(__filename).cache as Record<string, unknown>;

/** Each loaded module file → the user's files it loaded with it (its local imports, transitively). */
const loadedWith = new Map<string, string[]>();

/** A file of the user's project: not a package under node_modules, not ptflow's own build or sources. */
function isUserFile(file: string): boolean {
  if (file.split(path.sep).includes('node_modules')) return false;
  const root = packageRoot();
  return ![path.join(root, 'dist') + path.sep, path.join(root, 'src') + path.sep].some((d) => file.startsWith(d));
}

/**
 * `sha256:<hex>` of an actor module's source: the module file's bytes, and when it imports files of
 * its own (helpers, JSON), theirs too, in path order — so editing a helper a filter imports changes the
 * step as a checkpoint and the cache's fingerprint see it. A module that imports none hashes as its
 * bytes alone. Packages under node_modules and ptflow itself are not hashed.
 */
export function moduleSourceHash(file: string): string {
  const h = createHash('sha256').update(readFileSync(file));
  for (const dep of loadedWith.get(file) ?? []) {
    if (!existsSync(dep)) continue;
    h.update(`\0${path.relative(path.dirname(file), dep).split(path.sep).join('/')}\0`).update(readFileSync(dep));
  }
  return `sha256:${h.digest('hex')}`;
}

export function loadActor(ref: ActorRef, where: string): ActorDefinition {
  if (ref.kind === 'builtin') return BUILTIN_ACTORS[ref.name];
  let mod: unknown;
  try {
    const load = loader();
    const before = new Set(Object.keys(moduleCache()));
    transpiling = new Set();
    try {
      mod = load(ref.file);
      // What this load transpiled or added to Node's cache (JSON, CommonJS); a helper another module
      // loaded first is in neither, so the module's tree in the cache is walked as well.
      const added = Object.keys(moduleCache()).filter((f) => !before.has(f));
      const deps = new Set([...transpiling, ...added, ...moduleTree(ref.file)].filter((f) => f !== ref.file && isUserFile(f)));
      if (!loadedWith.has(ref.file)) loadedWith.set(ref.file, [...deps].sort());
    } finally {
      transpiling = null;
    }
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

/** The files a cached module required, transitively (Node's `children`; JSON files are not listed there). */
function moduleTree(file: string): string[] {
  const out = new Set<string>();
  const walk = (m: unknown): void => {
    const kids = (m as { children?: { id?: string }[] } | undefined)?.children ?? [];
    for (const k of kids) {
      if (typeof k.id !== 'string' || out.has(k.id) || !isUserFile(k.id)) continue;
      out.add(k.id);
      walk(k);
    }
  };
  walk(moduleCache()[file]);
  return [...out];
}
