/**
 * Added-token matching as @huggingface/tokenizers does it: at each position the longest added
 * token starting there is cut out (leftmost first, scanning left to right); the text between
 * matches stays as sections for the normal pipeline.
 *
 *   new TokenSplitter(contents).split(text) → sections (matched tokens are whole sections)
 *   stripAround(sections, lookup)           → applies lstrip / rstrip of matched tokens in place
 */

interface TrieNode {
  children: Map<number, TrieNode>;
  end: string | null;
}

export interface StripFlags {
  lstrip: boolean;
  rstrip: boolean;
}

export class TokenSplitter {
  private readonly root: TrieNode = { children: new Map(), end: null };
  /** 1 where a UTF-16 code unit starts some token. */
  private readonly starts = new Uint8Array(0x10000);
  readonly empty: boolean;

  constructor(contents: readonly string[]) {
    for (const word of contents) {
      let node = this.root;
      for (let i = 0; i < word.length; i++) {
        const c = word.charCodeAt(i);
        let child = node.children.get(c);
        if (child === undefined) {
          child = { children: new Map(), end: null };
          node.children.set(c, child);
        }
        node = child;
      }
      node.end = word;
      if (word.length > 0) this.starts[word.charCodeAt(0)] = 1;
    }
    this.empty = this.root.children.size === 0;
  }

  /** Sections of `text`: non-empty plain runs and matched token contents, in order. */
  split(text: string): string[] {
    const n = text.length;
    if (n === 0) return [];
    if (this.empty) return [text];
    const result: string[] = [];
    const starts = this.starts;
    let start = 0;
    let i = 0;
    while (i < n) {
      if (starts[text.charCodeAt(i)] === 0) {
        i++;
        continue;
      }
      let node: TrieNode | undefined = this.root;
      let match: string | null = null;
      for (let j = i; j < n; j++) {
        node = node.children.get(text.charCodeAt(j));
        if (node === undefined) break;
        if (node.end !== null) match = node.end;
      }
      if (match !== null) {
        if (i > start) result.push(text.slice(start, i));
        result.push(match);
        i += match.length;
        start = i;
      } else {
        i++;
      }
    }
    if (start < n) result.push(text.slice(start));
    return result;
  }
}

/**
 * For every section that is an added token (per `lookup`), trims the whitespace at the end of the
 * section before it (lstrip) and at the start of the section after it (rstrip), in place.
 */
export function stripAround(sections: string[], lookup: ReadonlyMap<string, StripFlags>): void {
  for (let i = 0; i < sections.length; i++) {
    const token = lookup.get(sections[i]);
    if (token === undefined) continue;
    if (token.lstrip && i > 0) sections[i - 1] = sections[i - 1].trimEnd();
    if (token.rstrip && i < sections.length - 1) sections[i + 1] = sections[i + 1].trimStart();
  }
}
