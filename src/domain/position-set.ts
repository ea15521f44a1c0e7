/**
 * A persistent set of positions (of a plan, 0 to capacity - 1): a bitset kept as
 * a ChunkedList of 32-bit words, so that `with` and `without` copy one chunk of
 * words and leave this set as it was. Listing the members costs a step per word
 * (capacity / 32) and one per member, not one per position: an execution keeps
 * one per VM phase to list the VMs of a phase without reading every VM.
 */
import { ChunkedList } from './chunked-list.js';

const WORD_BITS = 5;
const IN_WORD = (1 << WORD_BITS) - 1;

export class PositionSet implements Iterable<number> {
  private constructor(
    private readonly words: ChunkedList<number>,
    readonly capacity: number,
    /** Members, counted as they come and go. */
    readonly size: number,
  ) {}

  /** The set of positions below `capacity` holding `members` (those out of range are left out). */
  static of(capacity: number, members: Iterable<number> = []): PositionSet {
    const words = new Array<number>((capacity + IN_WORD) >>> WORD_BITS).fill(0);
    let size = 0;
    for (const position of members) {
      if (!inRange(position, capacity)) continue;
      const bit = 1 << (position & IN_WORD);
      if ((words[position >>> WORD_BITS]! & bit) !== 0) continue;
      words[position >>> WORD_BITS]! |= bit;
      size += 1;
    }
    return new PositionSet(ChunkedList.from(words), capacity, size);
  }

  /** Members of any of `sets` (of one capacity), ascending: each once. */
  static union(sets: readonly PositionSet[]): number[] {
    const members: number[] = [];
    const wordCount = Math.max(0, ...sets.map((set) => set.words.length));
    for (let w = 0; w < wordCount; w += 1) {
      let word = 0;
      for (const set of sets) word |= set.words.at(w) ?? 0;
      pushMembers(members, w, word);
    }
    return members;
  }

  has(position: number): boolean {
    if (!inRange(position, this.capacity)) return false;
    return ((this.words.at(position >>> WORD_BITS) ?? 0) & (1 << (position & IN_WORD))) !== 0;
  }

  /** This set with `position` in it (this one when it is in already or out of range). */
  with(position: number): PositionSet {
    if (!inRange(position, this.capacity) || this.has(position)) return this;
    const w = position >>> WORD_BITS;
    return new PositionSet(this.words.with(w, (this.words.at(w) ?? 0) | (1 << (position & IN_WORD))), this.capacity, this.size + 1);
  }

  /** This set without `position` (this one when it is not in). */
  without(position: number): PositionSet {
    if (!this.has(position)) return this;
    const w = position >>> WORD_BITS;
    return new PositionSet(this.words.with(w, (this.words.at(w) ?? 0) & ~(1 << (position & IN_WORD))), this.capacity, this.size - 1);
  }

  /** The members, ascending. */
  toArray(): number[] {
    return PositionSet.union([this]);
  }

  [Symbol.iterator](): Iterator<number> {
    return this.toArray()[Symbol.iterator]();
  }

  /** Serialised (and shown by replays) as its members. */
  toJSON(): number[] {
    return this.toArray();
  }
}

function inRange(position: number, capacity: number): boolean {
  return Number.isInteger(position) && position >= 0 && position < capacity;
}

/** Appends the positions of the bits set in word number `w`, ascending. */
function pushMembers(members: number[], w: number, word: number): void {
  let rest = word;
  while (rest !== 0) {
    const lowest = rest & -rest;
    members.push((w << WORD_BITS) + 31 - Math.clz32(lowest));
    rest ^= lowest;
  }
}
