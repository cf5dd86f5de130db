// Bounds the distinct values of one label: the first `max` values seen keep
// their own series, later ones are folded into "other" and counted, so a
// workload with endless distinct queries cannot grow the exposition without bound.
export const OTHER = 'other';

export class LabelCap {
  private seen = new Set<string>();
  overflow = 0;

  constructor(readonly max: number) {}

  /** The value itself while there is room (or it is already tracked), else "other". */
  admit(value: string): string {
    if (value === '' || this.seen.has(value)) return value;
    if (this.seen.size < this.max) {
      this.seen.add(value);
      return value;
    }
    this.overflow++;
    return OTHER;
  }

  get size(): number {
    return this.seen.size;
  }
}
