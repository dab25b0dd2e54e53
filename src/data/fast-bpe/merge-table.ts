/**
 * The BPE merge list as an open-addressing hash table over typed arrays:
 * (left token id, right token id) → (rank, merged token id). Lower rank merges first.
 *
 *   const t = new MergeTable(capacityHint);
 *   t.set(left, right, rank, merged);   // a repeated pair keeps the last rank, as the reference does
 *   t.find(left, right) → slot or -1;  t.rank(slot), t.merged(slot)
 */
export class MergeTable {
  private readonly lefts: Int32Array;
  private readonly rights: Int32Array;
  private readonly ranks: Int32Array;
  private readonly mergedIds: Int32Array;
  private readonly mask: number;
  private count = 0;

  constructor(capacityHint: number) {
    let cap = 16;
    while (cap < capacityHint * 2) cap *= 2;
    this.lefts = new Int32Array(cap).fill(-1);
    this.rights = new Int32Array(cap);
    this.ranks = new Int32Array(cap);
    this.mergedIds = new Int32Array(cap);
    this.mask = cap - 1;
  }

  get size(): number {
    return this.count;
  }

  private static hash(left: number, right: number): number {
    let h = Math.imul(left, 0x9e3779b1) ^ Math.imul(right + 0x7f4a7c15, 0x85ebca77);
    h ^= h >>> 15;
    return Math.imul(h, 0x2c1b3c6d);
  }

  set(left: number, right: number, rank: number, merged: number): void {
    if ((this.count + 1) * 2 > this.lefts.length) throw new Error('MergeTable: capacity exceeded');
    let slot = MergeTable.hash(left, right) & this.mask;
    for (;;) {
      const l = this.lefts[slot];
      if (l === -1) {
        this.lefts[slot] = left;
        this.rights[slot] = right;
        this.count++;
        break;
      }
      if (l === left && this.rights[slot] === right) break;
      slot = (slot + 1) & this.mask;
    }
    this.ranks[slot] = rank;
    this.mergedIds[slot] = merged;
  }

  /** Slot of the pair, or -1 when the pair never merges. */
  find(left: number, right: number): number {
    let slot = MergeTable.hash(left, right) & this.mask;
    for (;;) {
      const l = this.lefts[slot];
      if (l === left && this.rights[slot] === right) return slot;
      if (l === -1) return -1;
      slot = (slot + 1) & this.mask;
    }
  }

  rank(slot: number): number {
    return this.ranks[slot];
  }

  merged(slot: number): number {
    return this.mergedIds[slot];
  }
}
