// Reads statements back from the server log (log_statement=all) and parses
// their sqlcommenter comment the way server-side readers do.
import type { PgCluster } from '../../../../test/helpers/postgres';

export const LOG_SETTINGS = { log_statement: 'all', log_min_messages: 'info' } as const;

/** Statements the server logged (`statement:` or `execute <name>:`) that contain `marker`. */
export function loggedStatements(pg: PgCluster, marker: string): string[] {
  const out: string[] = [];
  const re = /LOG:\s+(?:statement|execute [^:]*):\s(.*)$/;
  for (const line of pg.log().split('\n')) {
    if (!line.includes(marker)) continue;
    const m = re.exec(line);
    if (m) out.push(m[1]);
  }
  return out;
}

/** Waits until the server has logged `count` statements containing marker. */
export async function waitLogged(pg: PgCluster, marker: string, count = 1, timeoutMs = 5000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = loggedStatements(pg, marker);
    if (found.length >= count) return found;
    if (Date.now() > deadline) {
      throw new Error(`server logged ${found.length} statement(s) with ${marker}, expected ${count}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The tags of the trailing sqlcommenter comment, or undefined when the text has none. */
export function parseComment(sql: string): Record<string, string> | undefined {
  const m = /\/\*([^]*?)\*\/\s*;?\s*$/.exec(sql);
  if (!m) return undefined;
  const tags: Record<string, string> = {};
  for (const pair of m[1].split(',')) {
    const eq = pair.indexOf('=');
    const key = decodeURIComponent(pair.slice(0, eq));
    const raw = pair.slice(eq + 1);
    if (!raw.startsWith("'") || !raw.endsWith("'")) throw new Error(`value not single-quoted in ${sql}`);
    tags[key] = decodeURIComponent(raw.slice(1, -1).replace(/\\'/g, "'"));
  }
  return tags;
}

/** How many block comments a statement carries. */
export function commentCount(sql: string): number {
  return sql.split('/*').length - 1;
}
