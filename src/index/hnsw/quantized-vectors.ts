/**
 * Int8 copies of a graph's vectors, kept in the graph worker for exact scans over a filter's
 * matches. hnswlib-node hands a stored vector back only as a new JS array (getPoint: ~33 us at
 * 512 dims), which made an exact scan over 1,000 matches cost ~33 ms; a dot product against an
 * int8 row costs well under a microsecond. The int8 scores only choose the candidates: the best
 * few are scored again from hnswlib's float32 vector, so the scores a search returns are exact.
 *
 * One byte per dimension and a float32 scale per vector (a quarter of the raw float32 size).
 * Rows are filled when a vector is added, or on first use for a graph read from a snapshot.
 */

/** Labels per allocation: 2 MB at 512 dims, so a small collection does not reserve much. */
const CHUNK_SHIFT = 12;
const CHUNK_LABELS = 1 << CHUNK_SHIFT;

/**
 * errorBound's width in standard deviations of the int8 score's error: a sum of 512 uniform
 * rounding errors is close to gaussian (with lighter tails), so it exceeds 6 sigma about twice
 * in a billion scores.
 */
const ERROR_SIGMAS = 6;

export class QuantizedVectors {
  private readonly rows: (Int8Array | undefined)[] = [];
  /** Per label: the scale of its row, NaN while the row is not filled. */
  private readonly scales: (Float32Array | undefined)[] = [];

  constructor(readonly dimensions: number) {}

  has(label: number): boolean {
    const scales = this.scales[Math.floor(label / CHUNK_LABELS)];
    return scales !== undefined && !Number.isNaN(scales[label % CHUNK_LABELS]!);
  }

  /** Stores `vector` (any length-`dimensions` array), normalised to unit length, at `label`. */
  set(label: number, vector: ArrayLike<number>): void {
    const d = this.dimensions;
    let norm = 0;
    let max = 0;
    for (let i = 0; i < d; i++) {
      const x = vector[i]!;
      norm += x * x;
      const a = Math.abs(x);
      if (a > max) max = a;
    }
    norm = Math.sqrt(norm);
    // Per-vector scale: the largest component maps to 127 (a unit 512-d vector's largest
    // component is ~0.2, so one step is ~0.0016 and a dot product's error ~5e-4).
    const scale = norm > 0 && max > 0 ? max / norm / 127 : 0;
    const chunk = Math.floor(label / CHUNK_LABELS);
    const row = this.rowsOf(chunk);
    const offset = (label % CHUNK_LABELS) * d;
    const inverse = scale > 0 ? 1 / (scale * norm) : 0;
    for (let i = 0; i < d; i++) row[offset + i] = Math.round(vector[i]! * inverse);
    this.scales[chunk]![label % CHUNK_LABELS] = scale;
  }

  /**
   * How far score(label, q) may be from the exact dot product with a unit query, at
   * ERROR_SIGMAS standard deviations: rounding leaves each component off by up to scale / 2,
   * uniformly, so the dot product's error has standard deviation scale / sqrt(12).
   */
  errorBound(label: number): number {
    return (ERROR_SIGMAS * this.scales[Math.floor(label / CHUNK_LABELS)]![label % CHUNK_LABELS]!) / Math.sqrt(12);
  }

  /**
   * score() for every label in `labels`, into `out` (same length), filling missing rows from
   * `vectorOf` first. One tight loop: 2.5 us per label through has() and score() calls at 512
   * dims, measured ~1 us this way.
   */
  scoreAll(labels: Int32Array, query: Float64Array, out: Float64Array, vectorOf: (label: number) => ArrayLike<number>): void {
    const d = this.dimensions;
    for (let j = 0; j < labels.length; j++) {
      const label = labels[j]!;
      const chunk = label >>> CHUNK_SHIFT;
      const slot = label & (CHUNK_LABELS - 1);
      let scales = this.scales[chunk];
      if (scales === undefined || Number.isNaN(scales[slot]!)) {
        this.set(label, vectorOf(label));
        scales = this.scales[chunk]!;
      }
      const row = this.rows[chunk]!;
      const offset = slot * d;
      let s = 0;
      for (let i = 0; i < d; i++) s += row[offset + i]! * query[i]!;
      out[j] = s * scales[slot]!;
    }
  }

  /** Approximate dot product of the stored (unit) vector at `label` (which must be filled) with `query`. */
  score(label: number, query: Float64Array): number {
    const out = new Float64Array(1);
    this.scoreAll(Int32Array.of(label), query, out, () => {
      throw new RangeError(`no int8 row for label ${label}`);
    });
    return out[0]!;
  }

  private rowsOf(chunk: number): Int8Array {
    let row = this.rows[chunk];
    if (!row) {
      row = this.rows[chunk] = new Int8Array(CHUNK_LABELS * this.dimensions);
      this.scales[chunk] = new Float32Array(CHUNK_LABELS).fill(NaN);
    }
    return row;
  }
}
