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
  /** The node's place in `nodes`: kept on the node, so a move costs no map update. */
  at: number;
}

export class MinHeap<K, V> {
  private readonly nodes: Node<K, V>[] = [];
  private readonly byKey = new Map<K, Node<K, V>>();
  private seq = 0;

  get size(): number {
    return this.nodes.length;
  }

  /** Adds the entry, or replaces the one with the same key (its priority may go up or down). */
  push(key: K, priority: number, value: V): void {
    if (Number.isNaN(priority)) throw new RangeError('MinHeap.push: priority is NaN');
    const existing = this.byKey.get(key);
    const node: Node<K, V> = { key, priority, value, seq: this.seq++, at: existing?.at ?? this.nodes.length };
    this.byKey.set(key, node);
    this.nodes[node.at] = node;
    if (existing === undefined) this.up(node);
    else this.restore(node);
  }

  /** The entry with the lowest priority, left in place. */
  peek(): HeapEntry<K, V> | undefined {
    return this.nodes[0];
  }

  /** Removes and returns the entry with the lowest priority. */
  pop(): HeapEntry<K, V> | undefined {
    const top = this.nodes[0];
    if (top !== undefined) this.remove(top);
    return top;
  }

  get(key: K): HeapEntry<K, V> | undefined {
    return this.byKey.get(key);
  }

  has(key: K): boolean {
    return this.byKey.has(key);
  }

  /** Removes the key's entry; false when there was none. */
  delete(key: K): boolean {
    const node = this.byKey.get(key);
    if (node === undefined) return false;
    this.remove(node);
    return true;
  }

  clear(): void {
    this.nodes.length = 0;
    this.byKey.clear();
  }

  /** Every entry, in no particular order. */
  *entries(): IterableIterator<HeapEntry<K, V>> {
    yield* this.nodes;
  }

  private remove(node: Node<K, V>): void {
    const last = this.nodes.pop() as Node<K, V>;
    this.byKey.delete(node.key);
    if (last === node) return; // it was the last node
    last.at = node.at;
    this.nodes[last.at] = last;
    this.restore(last);
  }

  /** Moves the node up or down to where it belongs. */
  private restore(node: Node<K, V>): void {
    const parent = node.at > 0 ? this.nodes[(node.at - 1) >> 1] : undefined;
    if (parent !== undefined && less(node, parent)) this.up(node);
    else this.down(node);
  }

  /** Sifts up: the parents it passes move down one level each, the node is written once. */
  private up(node: Node<K, V>): void {
    let at = node.at;
    while (at > 0) {
      const parentAt = (at - 1) >> 1;
      const parent = this.nodes[parentAt] as Node<K, V>;
      if (!less(node, parent)) break;
      this.place(parent, at);
      at = parentAt;
    }
    this.place(node, at);
  }

  private down(node: Node<K, V>): void {
    const n = this.nodes.length;
    let at = node.at;
    for (;;) {
      const leftAt = 2 * at + 1;
      if (leftAt >= n) break;
      const left = this.nodes[leftAt] as Node<K, V>;
      const right = leftAt + 1 < n ? (this.nodes[leftAt + 1] as Node<K, V>) : undefined;
      const child = right !== undefined && less(right, left) ? right : left;
      if (!less(child, node)) break;
      const childAt = child.at;
      this.place(child, at);
      at = childAt;
    }
    this.place(node, at);
  }

  private place(node: Node<K, V>, at: number): void {
    node.at = at;
    this.nodes[at] = node;
  }
}

function less<K, V>(x: Node<K, V>, y: Node<K, V>): boolean {
  return x.priority < y.priority || (x.priority === y.priority && x.seq < y.seq);
}
