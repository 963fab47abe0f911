/**
 * The hub's timers: an indexed binary min-heap ordered by (deadline, seq). Entries know their own
 * index, so a cancelled sleep or Timeout leaves the heap in O(log n) instead of lingering until its
 * deadline. The heap itself never touches Node timers; the hub arms one Node timer for `peek()`.
 */
export interface TimerEntry {
  /** Deadline in `performance.now()` milliseconds. */
  _deadline: number;
  /** Insertion order, so equal deadlines fire first-in first-out. */
  _seq: number;
  /** Position in the heap, -1 when not scheduled. */
  _heapIndex: number;
  _fire(): void;
}

function before(a: TimerEntry, b: TimerEntry): boolean {
  return a._deadline < b._deadline || (a._deadline === b._deadline && a._seq < b._seq);
}

export class TimerHeap {
  private readonly items: TimerEntry[] = [];
  private seq = 0;

  get size(): number {
    return this.items.length;
  }

  peek(): TimerEntry | undefined {
    return this.items[0];
  }

  push(entry: TimerEntry): void {
    entry._seq = this.seq++;
    entry._heapIndex = this.items.length;
    this.items.push(entry);
    this.up(entry._heapIndex);
  }

  /** Removes an entry wherever it sits; a no-op for entries that are not scheduled. */
  remove(entry: TimerEntry): void {
    const i = entry._heapIndex;
    if (i < 0 || this.items[i] !== entry) return;
    entry._heapIndex = -1;
    const last = this.items.pop()!;
    if (i === this.items.length) return;
    this.items[i] = last;
    last._heapIndex = i;
    this.down(i);
    this.up(last._heapIndex);
  }

  pop(): TimerEntry | undefined {
    const top = this.items[0];
    if (top !== undefined) this.remove(top);
    return top;
  }

  private up(i: number): void {
    const items = this.items;
    const entry = items[i];
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent];
      if (!before(entry, p)) break;
      items[i] = p;
      p._heapIndex = i;
      i = parent;
    }
    items[i] = entry;
    entry._heapIndex = i;
  }

  private down(i: number): void {
    const items = this.items;
    const n = items.length;
    const entry = items[i];
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && before(items[r], items[l]) ? r : l;
      if (!before(items[c], entry)) break;
      items[i] = items[c];
      items[i]._heapIndex = i;
      i = c;
    }
    items[i] = entry;
    entry._heapIndex = i;
  }
}
