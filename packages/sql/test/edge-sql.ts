// Generated SQL biased to the edges of PostgreSQL's scanner, shared by the
// differential suite (libpg-query as the oracle), the real-server sample and
// the end-to-end test: backslashes in standard strings, E'…' escapes,
// U&'…' UESCAPE, strings continued across newlines, non-ASCII identifiers
// and dollar tags of any length, nested comments, CR/LF/form feed, and
// random NUL-free characters. Seeded, so a failure is reproduced by its seed.

/** mulberry32: a small seeded PRNG */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const TP = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
export const IDS = { traceId: '0af7651916cd43dd8448eb211c80319c', parentSpanId: 'b7ad6b7169203331', flags: 1 };

export class Rand {
  constructor(readonly rnd: () => number) {}
  int(n: number): number {
    return Math.floor(this.rnd() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  many(max: number, f: () => string): string {
    let out = '';
    for (let i = this.int(max + 1); i > 0; i--) out += f();
    return out;
  }
}

/** dollar-quote tags PostgreSQL accepts: ASCII, non-ASCII (2-, 3- and 4-byte UTF-8), long */
export const TAGS = ['', 't', 'tag_1', 'T', 'é', 'été', '字', 'ß_9', '😀', 'a'.repeat(64), 'b'.repeat(80), `é${'x'.repeat(70)}`];

/** whitespace the scanner knows (no \v: PostgreSQL 15 does not take it) */
export const SPACES = [' ', ' ', '\n', '\r\n', '\r', '\t', '\f', ' \n '];

/**
 * One literal that reads the same under both settings of
 * standard_conforming_strings unless `scs` says which one the text is for:
 * with `scs` set, plain strings may hold backslashes that only that setting
 * reads this way.
 */
export function edgeLiteral(r: Rand, scs: boolean | undefined, body: () => string = () => r.pick(['x', 'C:', 'é', '--', '/*', '*/', ' ', '$$', '"', ';'])): string {
  const b = () => body() + r.many(2, body);
  switch (r.int(11)) {
    case 0: {
      // a backslash right before the closing quote: 'C:\' (on) / 'C:\\' (both)
      if (scs === true) return `'${b().replace(/'/g, "''")}\\'`;
      if (scs === false) return `'${b().replace(/'/g, "''").replace(/\\/g, '\\\\')}\\''`;
      return `'${b().replace(/'/g, "''").replace(/\\/g, '\\\\')}\\\\'`;
    }
    case 1:
      // E'…' with \' and \\ (the same under both settings)
      return `E'${b().replace(/\\/g, '\\\\').replace(/'/g, r.pick(["\\'", "''"]))}\\\\'`;
    case 2:
      // U&'…' UESCAPE '!' (an error when standard_conforming_strings is off)
      return scs === false ? `'${b().replace(/\\/g, '').replace(/'/g, "''")}'` : `U&'d!0061t${b().replace(/[\\!]/g, '').replace(/'/g, "''")}' UESCAPE '!'`;
    case 3: {
      const tag = r.pick(TAGS);
      const delim = `$${tag}$`;
      return `${delim}${b().split('$').join('')}${delim}`;
    }
    case 4:
      // a string continued on the next line: one literal
      return `'${b().replace(/\\/g, '').replace(/'/g, "''")}'${r.pick(['\n', '\r\n', ' \n\t', '\n\f\n'])}'${b().replace(/\\/g, '').replace(/'/g, "''")}'`;
    case 5:
      return `${r.int(1000)}${r.pick(['', '.5', 'e3', 'e-2'])}`;
    case 6:
      return r.pick([`B'0101'`, `X'1f'`, `'${'é'.repeat(1 + r.int(3))}'`, `'it''s'`]);
    default:
      return `'${b().replace(/\\/g, scs === undefined ? '' : '\\').replace(/'/g, "''")}'`;
  }
}

export function edgeIdent(r: Rand): string {
  return r.pick(['a', 'col_b', 'c$d', 'été', '字段', '_x9', '"Quoted ""x"""', '"/*"', '"--"', '"$$"', "\"it's\"", 'U&"d\\0061t"', 'É']);
}

export function edgeComment(r: Rand): string {
  const inner = () => r.pick(['x', 'é', ' ', '*', "'", '"', '$$', '\\', '-', 'traceparent=x']);
  const body = () => r.many(4, inner).replace(/\/$|^\*/, '');
  switch (r.int(4)) {
    case 0:
      return `-- ${body().replace(/[\r\n]/g, '')}${r.pick(['\n', '\r\n', '\r'])}`;
    case 1:
      return `/* ${body()} /* ${body()} */ ${body()} */`;
    default:
      return `/*${body()}*/`;
  }
}

/** A separator: whitespace of every kind, now and then a comment. */
export function edgeSep(r: Rand, commentRate: number): string {
  if (r.rnd() >= commentRate) return r.pick(SPACES);
  const c = edgeComment(r);
  return c.endsWith('\n') || c.endsWith('\r') ? ` ${c}` : ` ${c} `;
}

/**
 * A single SELECT the server runs under the given setting, showing its own
 * text: `SELECT current_query() AS q, <literal> AS c1, …`.
 */
export function edgeSelect(r: Rand, scs: boolean | undefined, commentRate = 0.05): string {
  const cols: string[] = ['current_query() AS q'];
  for (let i = 1 + r.int(4); i > 0; i--) cols.push(`${edgeLiteral(r, scs)}${edgeSep(r, 0)}AS ${edgeIdent(r)}`);
  const sep = () => edgeSep(r, commentRate);
  let sql = `SELECT${sep()}${cols.join(`${sep()},${sep()}`)}`;
  if (r.int(3) === 0) sql += `${sep()}FROM (SELECT 1 AS ${edgeIdent(r)}) AS s`;
  return sql + r.pick(['', '', ';', ' ;\n', '\n']);
}

/** NUL-free text, mostly the characters the scanner treats specially. */
export function randomText(r: Rand, max = 80): string {
  const special = ["'", "'", '"', '$', '$', '\\', '/', '*', '-', '\n', '\r', '\f', '\t', ' ', ' ', ';', '(', ')', 'e', 'E', 'U', '&', 'é', '字', '😀', 'a', 'b', '1', '_', ',', 'x'];
  let out = '';
  for (let i = r.int(max); i > 0; i--) {
    if (r.int(8) === 0) {
      // any code point but NUL and lone surrogates
      let cp = 1 + r.int(0x10ffff);
      if (cp >= 0xd800 && cp <= 0xdfff) cp = 0x41;
      out += String.fromCodePoint(cp);
    } else out += r.pick(special);
  }
  return out;
}
