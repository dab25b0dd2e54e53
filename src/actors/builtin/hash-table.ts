/**
 * A set of 64-bit hashes in one open-addressing table (linear probing), of bounded size: it grows by
 * doubling up to `2 × maxEntries` slots of 8 bytes — so it never takes more than 16 bytes × maxEntries
 * — and refuses an insert beyond `maxEntries` (the caller says what to do). Inserts can be undone in
 * reverse order (exact for linear probing), which is how a step rolls back a half-processed batch.
 */
export class HashSet64 {
  private lo: Uint32Array;
  private hi: Uint32Array;
  private mask: number;
  size = 0;
  /** Slots filled since `mark()`, in order. */
  private log: number[] = [];

  constructor(readonly maxEntries: number, initialSlots = 1 << 16) {
    const slots = Math.min(initialSlots, HashSet64.slotsFor(maxEntries));
    this.lo = new Uint32Array(slots);
    this.hi = new Uint32Array(slots);
    this.mask = slots - 1;
  }

  /** Slots at the largest size: the power of two ≥ 2 × maxEntries. */
  static slotsFor(maxEntries: number): number {
    let s = 1;
    while (s < 2 * maxEntries) s *= 2;
    return s;
  }

  get bytes(): number {
    return this.lo.byteLength + this.hi.byteLength;
  }

  /** Room for `more` inserts (up to maxEntries) without growing in between: grows now if needed. */
  reserve(more: number): void {
    const need = Math.min(this.size + more, this.maxEntries);
    let slots = this.mask + 1;
    while (need * 2 > slots) slots *= 2;
    if (slots !== this.mask + 1) this.rehash(slots);
  }

  get full(): boolean {
    return this.size >= this.maxEntries;
  }

  /** Starts a new undo log. */
  mark(): void {
    this.log = [];
  }

  /** Removes every insert since `mark()`, newest first. */
  undo(): void {
    for (let k = this.log.length - 1; k >= 0; k--) {
      const i = this.log[k];
      this.lo[i] = 0;
      this.hi[i] = 0;
      this.size--;
    }
    this.log = [];
  }

  /** Adds (lo, hi); false when it was there already. Call `reserve` first, and not when `full`. (0, 0) is stored as (1, 0). */
  add(lo: number, hi: number): boolean {
    if (lo === 0 && hi === 0) lo = 1;
    for (let i = lo & this.mask; ; i = (i + 1) & this.mask) {
      const l = this.lo[i];
      const h = this.hi[i];
      if (l === 0 && h === 0) {
        this.lo[i] = lo;
        this.hi[i] = hi;
        this.size++;
        this.log.push(i);
        return true;
      }
      if (l === lo && h === hi) return false;
    }
  }

  has(lo: number, hi: number): boolean {
    if (lo === 0 && hi === 0) lo = 1;
    for (let i = lo & this.mask; ; i = (i + 1) & this.mask) {
      const l = this.lo[i];
      const h = this.hi[i];
      if (l === 0 && h === 0) return false;
      if (l === lo && h === hi) return true;
    }
  }

  private rehash(slots: number): void {
    const { lo, hi } = this;
    this.lo = new Uint32Array(slots);
    this.hi = new Uint32Array(slots);
    this.mask = slots - 1;
    this.size = 0;
    for (let i = 0; i < lo.length; i++) if (lo[i] !== 0 || hi[i] !== 0) this.add(lo[i], hi[i]);
    this.log = [];
  }
}
