/**
 * A binary min-heap of keyed entries: at most one entry per key, ordered by a
 * numeric priority (ties: the entry pushed first comes first). Every entry's
 * place is indexed by its key, so updating or removing one is O(log n) and
 * leaves no stale entries behind (`size` is exact).
 */

export interface HeapEntry<K, V> {
  readonly key: K;
  readonly priority: number;
  readonly value: V;
}

interface Node<K, V> extends HeapEntry<K, V> {
  /** Push order, for a stable order among equal priorities. */
  readonly seq: number;
}

export class MinHeap<K, V> {
  private readonly nodes: Node<K, V>[] = [];
  private readonly index = new Map<K, number>();
  private seq = 0;

  get size(): number {
    return this.nodes.length;
  }

  /** Adds the entry, or replaces the one with the same key (its priority may go up or down). */
  push(key: K, priority: number, value: V): void {
    if (Number.isNaN(priority)) throw new RangeError('MinHeap.push: priority is NaN');
    const node: Node<K, V> = { key, priority, value, seq: this.seq++ };
    const at = this.index.get(key);
    if (at === undefined) {
      this.nodes.push(node);
      this.index.set(key, this.nodes.length - 1);
      this.up(this.nodes.length - 1);
      return;
    }
    this.nodes[at] = node;
    this.restore(at);
  }

  /** The entry with the lowest priority, left in place. */
  peek(): HeapEntry<K, V> | undefined {
    return this.nodes[0];
  }

  /** Removes and returns the entry with the lowest priority. */
  pop(): HeapEntry<K, V> | undefined {
    const top = this.nodes[0];
    if (top !== undefined) this.removeAt(0);
    return top;
  }

  get(key: K): HeapEntry<K, V> | undefined {
    const at = this.index.get(key);
    return at === undefined ? undefined : this.nodes[at];
  }

  has(key: K): boolean {
    return this.index.has(key);
  }

  /** Removes the key's entry; false when there was none. */
  delete(key: K): boolean {
    const at = this.index.get(key);
    if (at === undefined) return false;
    this.removeAt(at);
    return true;
  }

  clear(): void {
    this.nodes.length = 0;
    this.index.clear();
  }

  /** Every entry, in no particular order. */
  *entries(): IterableIterator<HeapEntry<K, V>> {
    yield* this.nodes;
  }

  private removeAt(at: number): void {
    const removed = this.nodes[at] as Node<K, V>;
    const last = this.nodes.pop() as Node<K, V>;
    this.index.delete(removed.key);
    if (at === this.nodes.length) return; // it was the last node
    this.nodes[at] = last;
    this.index.set(last.key, at);
    this.restore(at);
  }

  /** Moves the node at `at` up or down to where it belongs. */
  private restore(at: number): void {
    if (at > 0 && this.less(at, (at - 1) >> 1)) this.up(at);
    else this.down(at);
  }

  private less(a: number, b: number): boolean {
    const x = this.nodes[a] as Node<K, V>;
    const y = this.nodes[b] as Node<K, V>;
    return x.priority < y.priority || (x.priority === y.priority && x.seq < y.seq);
  }

  private swap(a: number, b: number): void {
    const x = this.nodes[a] as Node<K, V>;
    const y = this.nodes[b] as Node<K, V>;
    this.nodes[a] = y;
    this.nodes[b] = x;
    this.index.set(y.key, a);
    this.index.set(x.key, b);
  }

  private up(at: number): void {
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if (!this.less(at, parent)) return;
      this.swap(at, parent);
      at = parent;
    }
  }

  private down(at: number): void {
    const n = this.nodes.length;
    for (;;) {
      const left = 2 * at + 1;
      const right = left + 1;
      let smallest = at;
      if (left < n && this.less(left, smallest)) smallest = left;
      if (right < n && this.less(right, smallest)) smallest = right;
      if (smallest === at) return;
      this.swap(at, smallest);
      at = smallest;
    }
  }
}
