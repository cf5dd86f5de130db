// pg-cursor ships no types; the tests only construct one and hand it to query().
declare module 'pg-cursor' {
  import type { Submittable } from 'pg';
  export default class Cursor implements Submittable {
    constructor(text: string, values?: unknown[], config?: Record<string, unknown>);
    submit: Submittable['submit'];
    read(rows: number, callback?: (err: Error | undefined, rows: Record<string, unknown>[]) => void): Promise<Record<string, unknown>[]>;
    close(callback?: (err?: Error) => void): Promise<void>;
  }
}
