/**
 * The built-in pipeline steps, by the name a YAML `actor:` gives. Each is written against the public
 * actor API (src/actors/api.ts), as a user's step would be.
 */
import type { ActorDefinition } from '../api';
import c4Quality from './c4-quality';
import exactDedup from './exact-dedup';
import finewebQuality from './fineweb-quality';
import gopherQuality from './gopher-quality';
import gopherRepetition from './gopher-repetition';
import identity from './identity';
import minhashDedup from './minhash-dedup';

export const BUILTIN_ACTORS: Readonly<Record<string, ActorDefinition>> = Object.freeze(
  Object.fromEntries(
    [gopherQuality, gopherRepetition, c4Quality, finewebQuality, exactDedup, minhashDedup, identity].map((d) => [d.name, d as ActorDefinition]),
  ),
);
