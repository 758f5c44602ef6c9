/**
 * SentencePiece-unigram tokenizer that reproduces, id for id, the `Tokenizer` shipped with
 * `@tensorflow-models/universal-sentence-encoder` (the TF.js port of SentencePiece's `EncodeAsIds`
 * that Universal Sentence Encoder Lite was served with).
 *
 * The reference is not a faithful SentencePiece: it has several quirks that change ids on real
 * text. The model's weights were only ever fed ids produced by that code, so every quirk is
 * reproduced on purpose; each is marked "Quirk" below with the reason it matters.
 *
 * Unlike the reference (which slices the symbol array at every position, O(n²) time and memory),
 * this runs a single forward Viterbi pass in O(n · maxPieceLength) with typed arrays.
 */

/** U+2581 LOWER ONE EIGHTH BLOCK: SentencePiece's visible stand-in for a space. */
const WORD_BOUNDARY_CODE = 0x2581;
const SPACE_CODE = 0x20;
/** Text NFKC cannot change. */
const ASCII = /^[\x00-\x7f]*$/;

/** One vocabulary entry as stored in USE's `vocab.json`: `[piece, log-probability]`. */
export type VocabularyEntry = readonly [piece: string, score: number | null];

interface TrieNode {
  /** Children keyed by UTF-16 code unit. */
  readonly children: Map<number, TrieNode>;
  /** Vocabulary id of the piece ending here, or -1 when no piece ends at this node. */
  id: number;
  score: number;
}

function newNode(): TrieNode {
  return { children: new Map(), id: -1, score: 0 };
}

/**
 * The trie as a double array for encode's inner loop: code units are renumbered densely (the
 * alphabet of the vocabulary: 194 for USE Lite's), and the child of node s along symbol c is node
 * base[s] + c when check[base[s] + c] === s: one addition and one comparison per step. Walking
 * Map nodes, tokenizing took about half of a static model's per-query cost; a hash table of edges
 * halved that. The double array, the skipped NFKC pass on ASCII and reused work arrays took a
 * Cranfield query's encode from ~21 to ~10 µs (both versions side by side in one process).
 */
class DoubleArrayTrie {
  private constructor(
    /** Code unit → symbol 1..alphabet size, 0 for a code unit no piece contains. */
    private readonly symbol: Uint16Array,
    private readonly base: Int32Array,
    /** Parent of each slot, -1 for an empty slot. */
    private readonly check: Int32Array,
    /** Vocabulary id of the piece ending at each node, -1 for none (node 0 is the root). */
    readonly id: Int32Array,
    readonly score: Float64Array,
  ) {}

  static from(root: TrieNode): DoubleArrayTrie {
    const symbol = new Uint16Array(65536);
    let alphabet = 0;
    const nodes: TrieNode[] = [root];
    for (let i = 0; i < nodes.length; i++) {
      for (const [code, child] of nodes[i]!.children) {
        if (symbol[code] === 0) symbol[code] = ++alphabet;
        nodes.push(child);
      }
    }
    // Slot 0 is the root. Each node's children go at the lowest base where all their slots are
    // free: candidates are read off the free slots (b = free slot - smallest symbol), found through
    // `nextFree` (union-find style: the first free slot at or after i), so occupied runs are skipped.
    let size = Math.max(2, nodes.length * 2 + alphabet + 1);
    let base = new Int32Array(size);
    let check = new Int32Array(size).fill(-1);
    let id = new Int32Array(size).fill(-1);
    let score = new Float64Array(size);
    let nextFree = Int32Array.from({ length: size + 1 }, (_, i) => i);
    const growTo = (needed: number) => {
      let next = size;
      while (next <= needed) next *= 2;
      const widen = <T extends Int32Array | Float64Array>(old: T, wider: T): T => {
        wider.set(old);
        return wider;
      };
      base = widen(base, new Int32Array(next));
      check = widen(check, new Int32Array(next).fill(-1));
      id = widen(id, new Int32Array(next).fill(-1));
      score = widen(score, new Float64Array(next));
      nextFree = widen(nextFree, Int32Array.from({ length: next + 1 }, (_, i) => i));
      size = next;
    };
    const firstFreeFrom = (i: number): number => {
      let free = i;
      while (nextFree[free] !== free) free = nextFree[free]!;
      // Path compression: every slot on the way now points straight at the free one.
      while (i !== free) {
        const up = nextFree[i]!;
        nextFree[i] = free;
        i = up;
      }
      return free;
    };
    check[0] = 0;
    id[0] = root.id;
    score[0] = root.score;
    nextFree[0] = 1;
    const queue: [TrieNode, number][] = [[root, 0]];
    for (let q = 0; q < queue.length; q++) {
      const [node, slot] = queue[q]!;
      if (node.children.size === 0) continue;
      const symbols = Int32Array.from(node.children.keys(), (code) => symbol[code]!).sort();
      const lowest = symbols[0]!;
      let b = 0;
      for (let free = firstFreeFrom(lowest + 1); ; free = firstFreeFrom(free + 1)) {
        b = free - lowest;
        if (b + alphabet >= size) growTo(b + alphabet);
        let fits = true;
        for (let k = 1; k < symbols.length && fits; k++) fits = check[b + symbols[k]!] === -1;
        if (fits) break;
      }
      base[slot] = b;
      for (const [code, child] of node.children) {
        const t = b + symbol[code]!;
        check[t] = slot;
        nextFree[t] = t + 1;
        id[t] = child.id;
        score[t] = child.score;
        queue.push([child, t]);
      }
    }
    return new DoubleArrayTrie(symbol, base, check, id, score);
  }

  /** The child of `node` along a code unit, 0 for none (the root is no one's child). */
  next(node: number, code: number): number {
    const sym = this.symbol[code]!;
    if (sym === 0) return 0;
    const t = this.base[node]! + sym;
    return this.check[t] === node ? t : 0;
  }
}

export class SentencePieceUnigramTokenizer {
  /** Id emitted for text no vocabulary piece covers (the reserved piece '\uFFFD'). */
  readonly unknownId = 0;

  private constructor(
    private readonly pieces: readonly string[],
    private readonly trie: DoubleArrayTrie,
    /** `pieces[id].length` (UTF-16 code units), used by the backward pass. */
    private readonly pieceLengths: Int32Array,
  ) {}

  private scratch: Scratch = newScratch(256);

  /**
   * Builds the tokenizer from `[piece, score]` pairs in id order (USE's `vocab.json`).
   *
   * @param reservedCount leading entries (unk, `<s>`, `</s>`, extra ids) that are never matched
   *   against text, only emitted by id. USE Lite reserves 6.
   */
  static fromPieces(
    pieces: ReadonlyArray<VocabularyEntry>,
    reservedCount = 6,
  ): SentencePieceUnigramTokenizer {
    if (pieces.length === 0) throw new Error('vocabulary is empty');
    if (!Number.isInteger(reservedCount) || reservedCount < 1 || reservedCount > pieces.length) {
      throw new RangeError(`reservedCount must be an integer in [1, ${pieces.length}], got ${reservedCount}`);
    }
    if (pieces[0][0].length === 0) {
      // The backward pass steps back by the unknown piece's length; zero would never terminate.
      throw new Error('the unknown piece (id 0) must not be empty');
    }

    const root = newNode();
    const pieceLengths = new Int32Array(pieces.length);
    for (let id = 0; id < pieces.length; id++) {
      const [piece, score] = pieces[id];
      pieceLengths[id] = piece.length;
      // Quirk: reserved pieces are not in the trie, so e.g. the literal text "<s>" is spelled out
      // with ordinary pieces instead of becoming id 1.
      // Quirk: an empty piece never gets a trie node (the reference's insert loop runs zero
      // times), so it can never be matched.
      if (id < reservedCount || piece.length === 0) continue;
      let node = root;
      for (let i = 0; i < piece.length; i++) {
        const code = piece.charCodeAt(i);
        let child = node.children.get(code);
        if (child === undefined) {
          child = newNode();
          node.children.set(code, child);
        }
        node = child;
      }
      // Quirk: a piece listed twice (USE's vocab has '”5' at ids 230, 238 and 4464) keeps the
      // *last* id and score, because the reference's insert simply overwrites the node.
      node.id = id;
      // Quirk: USE's vocab.json has `null` scores (for ':', '://', '▁:)' and a few more pieces
      // containing ':'). The reference computes `null + best`, which JS evaluates as `0 + best`,
      // so null behaves exactly like a score of 0.
      node.score = score ?? 0;
    }
    return new SentencePieceUnigramTokenizer(
      pieces.map(([piece]) => piece),
      DoubleArrayTrie.from(root),
      pieceLengths,
    );
  }

  get vocabSize(): number {
    return this.pieces.length;
  }

  pieceOf(id: number): string {
    const piece = Number.isInteger(id) ? this.pieces[id] : undefined;
    if (piece === undefined) throw new RangeError(`token id ${id} is outside [0, ${this.pieces.length})`);
    return piece;
  }

  /** Full id sequence for `text` (no truncation, no start/end tokens). */
  encode(text: string): number[] {
    // NFKC leaves ASCII unchanged; skipping it there saves a copy of the text.
    const normalized = ASCII.test(text) ? text : text.normalize('NFKC');
    // Quirk: the boundary marker is only prepended to non-empty text, so '' encodes to [].
    if (normalized.length === 0) return [];

    // Quirk: symbols are UTF-16 code units, not code points; the reference's ES5 build iterates
    // the string with an index loop. A non-BMP character (emoji) is therefore two symbols, each
    // unknown, later merged into a single unknown id; a lone surrogate is just another symbol.
    const n = normalized.length + 1;
    const scratch = this.scratchFor(n);
    // Quirk: the marker is prepended unconditionally (text starting with a space gets two markers,
    // unlike Hugging Face's Metaspace), and only U+0020 is replaced: tabs, newlines and other
    // spaces that survive NFKC stay as they are (and usually become unknown).
    const input = scratch.input;
    input[0] = WORD_BOUNDARY_CODE;
    for (let i = 1; i < n; i++) {
      const code = normalized.charCodeAt(i - 1);
      input[i] = code === SPACE_CODE ? WORD_BOUNDARY_CODE : code;
    }
    // best[i]: score of the best segmentation of input[0, i); word[i]: id of its last piece.
    // Quirk: 0 doubles as "unset" (see the relaxation below), so both arrays start at 0.
    const best = scratch.best;
    const word = scratch.word;
    best.fill(0, 0, n + 1);
    word.fill(0, 0, n + 1);

    // Quirk: a candidate replaces the current best when the best is 0 *or* the candidate scores
    // >= it. So ties go to the candidate seen later, and a genuinely zero total (reachable through
    // the zero/null-scored pieces) counts as unset and is overwritten by any later candidate.
    // The reference visits the candidates ending at one position by ascending start position,
    // and for one start in trie order (shorter pieces first). Going forward over start positions
    // and walking the trie from each visits every end position's candidates in exactly that
    // order, and best[start] is final by then because every piece ending at `start` began earlier.
    // (The relaxation is written out twice below rather than called: a closure per encode call
    // was a tenth of its time.)
    const trie = this.trie;
    const pieceId = trie.id;
    const pieceScore = trie.score;
    for (let start = 0; start < n; start++) {
      const base = best[start]!;
      let matched = false;
      let node = trie.next(0, input[start]!);
      let end = start + 1;
      while (node !== 0) {
        const id = pieceId[node]!;
        if (id >= 0) {
          matched = true;
          const score = base + pieceScore[node]!;
          const current = best[end]!;
          if (current === 0 || score >= current) {
            best[end] = score;
            word[end] = id;
          }
        }
        if (end >= n) break;
        node = trie.next(node, input[end]!);
        end++;
      }
      // Quirk: the unknown candidate (id 0, score 0, one symbol) is offered only where no piece
      // at all starts, not where merely no single-symbol piece starts (SentencePiece's rule).
      // With score 0 it is also far more attractive than real SentencePiece's unknown penalty.
      if (!matched) {
        const current = best[start + 1]!;
        if (current === 0 || base >= current) {
          best[start + 1] = base;
          word[start + 1] = this.unknownId;
        }
      }
    }

    // Backward pass. Quirk: it steps back by the JS string length of the chosen *vocabulary*
    // piece (not by a stored match length), and a position no candidate reached keeps word 0,
    // so it is emitted as unknown and stepped over by the unknown piece's length (1 for '\uFFFD').
    // (With USE's vocab every position is reached: each character that starts a piece is also a
    // piece by itself. The rule is kept so other vocabularies behave like the reference too.)
    const reversed = scratch.reversed;
    let count = 0;
    for (let pos = n; pos > 0; pos -= this.pieceLengths[word[pos]!]!) reversed[count++] = word[pos]!;

    // Quirk: runs of unknown ids collapse into one (e.g. an emoji's two surrogate halves).
    const ids: number[] = [];
    for (let i = count - 1; i >= 0; i--) {
      const id = reversed[i]!;
      if (id === this.unknownId && ids.length > 0 && ids[ids.length - 1] === this.unknownId) continue;
      ids.push(id);
    }
    return ids;
  }

  /** Work arrays for a text of n symbols, reused across calls (encode is synchronous, so calls never overlap). */
  private scratchFor(n: number): Scratch {
    if (this.scratch.input.length < n + 1) {
      let size = 256;
      while (size < n + 1) size *= 2;
      this.scratch = newScratch(size);
    }
    return this.scratch;
  }
}

interface Scratch {
  readonly input: Uint16Array;
  readonly best: Float64Array;
  readonly word: Int32Array;
  readonly reversed: Int32Array;
}

function newScratch(size: number): Scratch {
  return { input: new Uint16Array(size), best: new Float64Array(size), word: new Int32Array(size), reversed: new Int32Array(size) };
}
