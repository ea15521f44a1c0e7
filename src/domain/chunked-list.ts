/**
 * A persistent list: `with` returns a new list with one item replaced and leaves
 * this one as it was, copying one chunk of 64 items and the table of chunks
 * (length / 64 entries) rather than every item. An execution's state keeps its VMs
 * in one: with a plain array, every VM event of a 5,000-VM execution copied 5,000
 * entries, which made folding one execution quadratic in its size.
 */
const CHUNK_BITS = 6;
const CHUNK_SIZE = 1 << CHUNK_BITS;
const IN_CHUNK = CHUNK_SIZE - 1;

export class ChunkedList<T> implements Iterable<T> {
  private constructor(
    private readonly chunks: readonly (readonly T[])[],
    readonly length: number,
  ) {}

  static from<T>(items: readonly T[]): ChunkedList<T> {
    const chunks: T[][] = [];
    for (let start = 0; start < items.length; start += CHUNK_SIZE) chunks.push(items.slice(start, start + CHUNK_SIZE));
    return new ChunkedList(chunks, items.length);
  }

  at(index: number): T | undefined {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) return undefined;
    return this.chunks[index >>> CHUNK_BITS]?.[index & IN_CHUNK];
  }

  /** This list with the item at `index` replaced (this one when `index` is out of range). */
  with(index: number, item: T): ChunkedList<T> {
    const c = index >>> CHUNK_BITS;
    const chunk = this.chunks[c];
    if (!Number.isInteger(index) || index < 0 || index >= this.length || chunk === undefined) return this;
    const changedChunk = chunk.slice();
    changedChunk[index & IN_CHUNK] = item;
    const chunks = this.chunks.slice();
    chunks[c] = changedChunk;
    return new ChunkedList(chunks, this.length);
  }

  /**
   * Indexes whose item is not the one `earlier` holds there (every index when the
   * lengths differ). Chunks the two lists share are skipped: for a list made from
   * `earlier` by a few `with`, this reads those few chunks.
   */
  indexesChangedSince(earlier: ChunkedList<T>): number[] {
    const changed: number[] = [];
    const comparable = earlier.length === this.length;
    this.chunks.forEach((chunk, c) => {
      const before = comparable ? earlier.chunks[c] : undefined;
      if (chunk === before) return;
      chunk.forEach((item, k) => {
        if (before === undefined || item !== before[k]) changed.push((c << CHUNK_BITS) + k);
      });
    });
    return changed;
  }

  *[Symbol.iterator](): Iterator<T> {
    for (const chunk of this.chunks) yield* chunk;
  }

  filter(keep: (item: T) => boolean): T[] {
    const kept: T[] = [];
    for (const chunk of this.chunks) for (const item of chunk) if (keep(item)) kept.push(item);
    return kept;
  }

  map<U>(change: (item: T, index: number) => U): U[] {
    const mapped = new Array<U>(this.length);
    let index = 0;
    for (const chunk of this.chunks) for (const item of chunk) mapped[index] = change(item, index++);
    return mapped;
  }

  find(match: (item: T) => boolean): T | undefined {
    for (const chunk of this.chunks) for (const item of chunk) if (match(item)) return item;
    return undefined;
  }

  some(match: (item: T) => boolean): boolean {
    return this.find(match) !== undefined;
  }

  toArray(): T[] {
    return this.chunks.flat() as T[];
  }

  /** Serialised (and shown by replays) as the plain array it stands for. */
  toJSON(): T[] {
    return this.toArray();
  }
}
