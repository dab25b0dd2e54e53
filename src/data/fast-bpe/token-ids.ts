/**
 * Token string → id as the reference resolves it, and the merge table over those ids.
 *
 *   const ids = new TokenIds(vocab, addedByText);
 *   ids.resolve(token) → id | undefined  (added tokens, incl. their normalized forms, win over vocab)
 *   ids.claim(token, id)                 (throws when a different string already owns the id)
 *   buildMergeTable(merges, ids) → MergeTable
 *
 * Merges run on ids while the reference merges strings: the two agree only if no two of the strings
 * merging can produce (symbols, merge parts and results) share an id, which `claim` checks.
 */
import { MergeTable } from './merge-table';

export class TokenIds {
  private readonly overridden = new Set<string>();
  private readonly owner: (string | null)[];

  constructor(
    private readonly vocab: ReadonlyMap<string, number>,
    private readonly addedByText: ReadonlyMap<string, { id: number }>,
  ) {
    let maxId = 0;
    for (const id of vocab.values()) if (id > maxId) maxId = id;
    for (const t of addedByText.values()) if (t.id > maxId) maxId = t.id;
    this.owner = new Array<string | null>(maxId + 1).fill(null);
    for (const [text, t] of addedByText) if (vocab.has(text) && vocab.get(text) !== t.id) this.overridden.add(text);
  }

  /** The id the reference gives `token` (one map probe unless an added token re-uses a vocabulary string). */
  resolve(token: string): number | undefined {
    const v = this.vocab.get(token);
    if (v === undefined) return this.addedByText.get(token)?.id;
    return this.overridden.size > 0 && this.overridden.has(token) ? this.addedByText.get(token)?.id : v;
  }

  /** Records that `token` produces `id`; throws if another string already does. */
  claim(token: string, id: number): void {
    const prev = this.owner[id];
    if (prev === null) this.owner[id] = token;
    else if (prev !== token) throw new Error(`tokens "${prev}" and "${token}" share id ${id}`);
  }
}

/** The merge list as a table over ids; every part and result must have an id. */
export function buildMergeTable(merges: readonly (readonly [string, string])[], ids: TokenIds): MergeTable {
  const table = new MergeTable(merges.length);
  for (let rank = 0; rank < merges.length; rank++) {
    const [a, b] = merges[rank];
    const left = ids.resolve(a);
    const right = ids.resolve(b);
    const ab = a + b;
    const merged = ids.resolve(ab);
    if (left === undefined || right === undefined || merged === undefined) {
      throw new Error(`merge ${rank} ("${a}" "${b}") uses a token that is not in the vocabulary`);
    }
    ids.claim(a, left);
    ids.claim(b, right);
    ids.claim(ab, merged);
    table.set(left, right, rank, merged);
  }
  return table;
}
