// Differential suite with PostgreSQL's own scanner and parser as the oracle
// (libpg-query: the server's scan.l and gram.y compiled to wasm). Three
// families of generated texts, each read under standard_conforming_strings
// on, off (the oracle reads a text as that setting does once each plain
// '…' string holding a backslash is turned into E'…', one at a time, each
// found by the oracle's own scan) and unknown (both):
// 1. statements mixing literals of every kind with hostile contents,
//    comments at the start, end and middle (nested ones too), quoted
//    identifiers and several statements; for every text the server parses:
//    - no literal the parser sees (under either setting) shows in the masked text;
//    - every string literal and comment the lexer reports (before any doubt)
//      is one the server's scanner reports, with the same boundaries;
//    - the statements split are the parser's statements (count and starts);
//    - the tail/head trace comment is confirmed exactly when the server's
//      last (first) token is a comment holding the traceparent;
// 2. SELECTs biased to the edges (backslashes in standard strings, U&'…'
//    UESCAPE, strings continued across newlines, non-ASCII identifiers and
//    dollar tags of any length, nested comments, CR/LF/form feed);
// 3. random NUL-free text, mostly the scanner's special characters.
// For every text and setting, the trace comment goes where placeComment
// says and the scanner agrees: exactly one new comment token, first (head)
// or last before `;` (tail), every other token unchanged (so the statement
// parses the same; parse trees are compared too). Under a known setting the
// lexer never gives up on a text the scanner reads, and its literal and
// comment boundaries are the scanner's.
// CI runs PGFERRET_FUZZ_RUNS cases (default below) from a fixed seed;
// `npm run fuzz:sql` runs 10^6.
import * as pgq from 'libpg-query';
import { confirmTraceComment, isComment, placeComment, readings, renderTokens, scanSql, splitStatements, tokenize, type Token, type TokenKind } from '../src';
import { edgeSelect, prng as edgePrng, Rand, randomText } from './edge-sql';

/** cases in all: each text counts once per setting it is read under (3) */
const CASES = Number(process.env.PGFERRET_FUZZ_RUNS ?? 30000);
// texts per family: statements, edge SELECTs, random text
const RUNS = Math.ceil(CASES / 9);
const SEED = Number(process.env.PGFERRET_FUZZ_SEED ?? 0x9e3779b9);
const TP = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const IDS = { traceId: '0af7651916cd43dd8448eb211c80319c', parentSpanId: 'b7ad6b7169203331', flags: 1 };

/** mulberry32: a small seeded PRNG, so a failing text is reproduced by its seed */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Gen {
  readonly markers: string[] = [];
  readonly numbers: string[] = [];
  /** share of separators that are comments: many texts have none, so the SDK's placement is exercised */
  private readonly commentRate: number;
  constructor(readonly rnd: () => number) {
    this.commentRate = this.pick([0, 0, 0.1, 0.4]);
  }
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

  /** text that looks like quotes, comments, dollar quotes and traceparents */
  hostile(): string {
    return this.many(4, () => this.pick(["'", "''", '\\', '/*', '*/', '--', '$', '$$', '$t$', '"', ';', '\n', 'é', ' ', '*', '-', `traceparent='${TP}'`, 'x', '字']));
  }

  /** hostile text around a secret marker that must never show */
  secret(): string {
    const m = `K${100000 + this.int(900000)}Z`;
    this.markers.push(m);
    return this.hostile() + m + this.hostile();
  }

  /** literals as sent, and as a server with standard_conforming_strings=off reads them (as E'…') */
  private readonly slots: { on: string; off: string }[] = [];

  literal(): string {
    const [on, off] = this.literalText();
    this.slots.push({ on, off });
    return `\u0001${this.slots.length - 1}\u0001`;
  }

  private literalText(): [string, string] {
    switch (this.int(9)) {
      case 0:
      case 1:
      case 3: {
        // the same length both ways, so positions in both readings line up
        const body = this.secret().replace(/'/g, "''");
        return [` '${body}'`, `E'${body}'`];
      }
      case 2: {
        const body = this.secret().replace(/\\/g, '\\\\');
        const text = `${this.pick(['E', 'e'])}'${body.replace(/'/g, this.pick(["\\'", "''"]))}'`;
        return [text, text];
      }
      case 4: {
        const text = `U&'${this.secret().replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
        return [text, text];
      }
      case 5:
      case 6: {
        const tag = this.pick(['', 't', 'tag_1', 'T', 'a'.repeat(64), 'é', 'b'.repeat(65)]);
        const delim = `$${tag}$`;
        const body = this.secret().split(delim).join('').replace(/\$+$/, '');
        return [`${delim}${body}${delim}`, `${delim}${body}${delim}`];
      }
      case 7: {
        const n = 100000 + this.int(900000);
        const text = this.pick([`${n}`, `${n}.25`, `${n}e-3`, `0x${n.toString(16)}`, `${n}_001`]);
        this.numbers.push(text);
        return [text, text];
      }
      default: {
        const text = this.pick([`B'${'01'.repeat(1 + this.int(8))}'`, `X'${'1f'.repeat(1 + this.int(8))}'`]);
        return [text, text];
      }
    }
  }

  /** The text as sent and as a server with standard_conforming_strings=off reads it. */
  texts(): { sql: string; offReading: string } {
    const t = this.text();
    const fill = (which: 'on' | 'off') => t.replace(/\u0001(\d+)\u0001/g, (_m, k: string) => this.slots[Number(k)][which]);
    return { sql: fill('on'), offReading: fill('off') };
  }

  ident(): string {
    return this.pick(['a', 'col_b', 'c$d', '"Quoted ""x"""', '"/*"', '"--"', '"$$"', "\"it's\"", 'U&"d\\0061t"', 'é']);
  }

  comment(): string {
    if (this.int(3) === 0) return `-- ${this.hostile().replace(/[\r\n]/g, '')}\n`;
    const inner = () => this.hostile().replace(/\/\*|\*\//g, '').replace(/\*$|^\//, '');
    return this.int(3) === 0 ? `/* ${inner()} /* ${inner()} */ ${inner()} */` : `/*${inner()}*/`;
  }

  sep(): string {
    if (this.rnd() >= this.commentRate) return this.pick([' ', ' ', '\n']);
    const c = this.comment();
    return c.endsWith('\n') ? ` ${c}` : ` ${c} `;
  }

  statement(): string {
    const template = this.pick([
      'SELECT L AS I , L',
      'SELECT I FROM T WHERE I = L AND I IN ( L , L )',
      'INSERT INTO T ( I , I ) VALUES ( L , L )',
      'UPDATE T SET I = L WHERE I <> L',
      'SELECT f ( L ) FROM ( SELECT L AS x ) s',
      'SELECT L :: text , - L',
      'CREATE FUNCTION f ( ) RETURNS text LANGUAGE sql BEGIN ATOMIC SELECT L ; SELECT CASE WHEN true THEN L END ; END',
    ]);
    return template
      .split(' ')
      .map((part) => (part === 'L' ? this.literal() : part === 'I' ? this.ident() : part === 'T' ? this.pick(['t', 'public.t', '"T t"']) : part))
      .reduce((acc, part) => acc + this.sep() + part);
  }

  text(): string {
    const head = [() => '', () => '', () => `/*traceparent='${TP}'*/ `, () => `${this.comment()} `][this.int(4)]();
    let body = this.statement();
    for (let n = this.int(3); n > 0; n--) body += `;${this.sep()}${this.statement()}`;
    const tail = this.pick([
      '',
      ` /*traceparent='${TP}'*/`,
      ` /*a='b',traceparent='${TP}'*/;\n`,
      ` , $$traceparent='${TP}'$$ -- */`,
      ` , '/*traceparent=''${TP}''*/'`,
      ` , "traceparent='${TP}' */"`,
      ' -- */',
    ]);
    return head + body + tail + this.pick(['', ';', ' ;\n']);
  }
}

/** char offset of every UTF-8 byte offset (the scanner counts bytes) */
function byteToChar(sql: string): (b: number) => number {
  const map: number[] = [];
  let b = 0;
  for (let i = 0; i < sql.length; i++) {
    const cp = sql.codePointAt(i)!;
    const len = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    for (let k = 0; k < len; k++) map[b + k] = i;
    b += len;
    if (cp >= 0x10000) i++;
  }
  map[b] = sql.length;
  return (x) => map[x];
}

type Oracle = { kind: 'string' | 'comment'; start: number; end: number };

function scannerTokens(sql: string): Oracle[] | null {
  let tokens: pgq.ScanToken[];
  try {
    tokens = pgq.scanSync(sql).tokens;
  } catch {
    return null;
  }
  const at = byteToChar(sql);
  const out: Oracle[] = [];
  for (const t of tokens) {
    const isString = t.tokenName === 'SCONST' || (t.tokenName === 'UNKNOWN' && /^([bBxX]'|[uU]&')/.test(t.text));
    const isCommentToken = t.tokenName === 'C_COMMENT' || t.tokenName === 'SQL_COMMENT';
    if (isString || isCommentToken) out.push({ kind: isString ? 'string' : 'comment', start: at(t.start), end: at(t.end) });
  }
  return out;
}

/** Every constant of the parse tree, as text. */
function constants(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) {
    for (const x of node) constants(x, out);
  } else if (node && typeof node === 'object') {
    const c = (node as Record<string, any>).A_Const;
    if (c) {
      const v = c.sval?.sval ?? c.bsval?.bsval ?? c.fval?.fval ?? c.ival?.ival;
      if (v !== undefined) out.push(String(v));
    }
    for (const v of Object.values(node)) constants(v, out);
  }
  return out;
}

function mine(toks: Token[]): { kind: 'string' | 'comment'; start: number; end: number }[] {
  return toks
    .filter((t) => t.kind === 'string' || isComment(t.kind))
    .map((t) => ({ kind: t.kind === 'string' ? ('string' as const) : ('comment' as const), start: t.start, end: t.end }));
}


// ---- the oracle under either setting of standard_conforming_strings ----

interface OTok {
  name: string;
  text: string;
  /** char offsets in the text as sent */
  start: number;
  end: number;
}

const STRING_TOKENS = new Set(['SCONST', 'BCONST', 'XCONST', 'USCONST', 'UCONST']);
const isOracleString = (t: { tokenName: string; text: string }) => STRING_TOKENS.has(t.tokenName) || (t.tokenName === 'UNKNOWN' && /^([bBxX]'|[uU]&')/.test(t.text));
const isOracleComment = (t: { tokenName: string }) => t.tokenName === 'C_COMMENT' || t.tokenName === 'SQL_COMMENT';

/**
 * libpg-query returns its tokens as JSON without escaping control
 * characters other than \t \n \r, so a token holding one cannot be read
 * back: each is replaced by a character of the same class for the scanner,
 * one byte for one (\f and \v are whitespace; the others are `other`, as
 * `{` is, and inert inside literals and comments).
 */
function forScanner(text: string): string {
  return text.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, (c) => (c === '\f' || c === '\v' ? ' ' : '{'));
}

function scanChars(text: string): OTok[] | null {
  let tokens: pgq.ScanToken[];
  try {
    tokens = pgq.scanSync(forScanner(text)).tokens;
  } catch {
    return null;
  }
  const at = byteToChar(text);
  return tokens.map((t) => ({ name: t.tokenName, text: t.text, start: at(t.start), end: at(t.end) }));
}

/**
 * The oracle's tokens for `sql` as a session with this setting reads it,
 * positions in `sql`; null when the scanner refuses the text. For `off`,
 * each plain '…' string holding a backslash becomes E'…' (what that setting
 * does: scan.l starts xe at a plain quote). The strings are the lexer's, so
 * a lexer that misreads one shows as a boundary the scanner does not share.
 */
function oracleFor(sql: string, scs: boolean): OTok[] | null {
  const inserts: number[] = []; // positions, in the rewritten text, of the inserted characters
  let text = sql;
  if (!scs) {
    let shift = 0;
    const parts: string[] = [];
    let from = 0;
    for (const t of tokenize(sql, false)) {
      // (a string the lexer finds unterminated too: the scanner must find the same)
      if ((t.kind !== 'string' && t.kind !== 'unsure') || sql[t.start] !== "'" || !sql.slice(t.start, t.end).includes('\\')) continue;
      // ` E` when a character that would join the E comes before
      const glue = t.start > 0 && /[\p{L}\p{N}_$\u0080-\uffff]/u.test(sql[t.start - 1]) ? ' E' : 'E';
      parts.push(sql.slice(from, t.start), glue);
      for (let k = 0; k < glue.length; k++) inserts.push(t.start + shift + k);
      shift += glue.length;
      from = t.start;
    }
    parts.push(sql.slice(from));
    text = parts.join('');
  }
  const toks = scanChars(text);
  if (!toks) return null;
  if (inserts.length === 0) return toks;
  // rewritten offsets back to the text as sent (an inserted E maps to its quote)
  const back = (i: number) => {
    let n = 0;
    for (const x of inserts) if (x < i) n++;
    return i - n;
  };
  return toks.map((t) => ({ name: t.name, text: inserts.includes(t.start) ? t.text.replace(/^ ?E/, '') : t.text, start: back(t.start), end: back(t.end) }));
}

type Boundary = { kind: 'string' | 'comment'; start: number; end: number };
const oracleBoundaries = (toks: OTok[]): Boundary[] =>
  toks.filter((t) => isOracleString({ tokenName: t.name, text: t.text }) || isOracleComment({ tokenName: t.name })).map((t) => ({ kind: isOracleComment({ tokenName: t.name }) ? 'comment' : 'string', start: t.start, end: t.end }));

const stats = { cases: 0, agree: 0, refused: 0, quirk: 0, tail: 0, head: 0, none: 0, parseCompared: 0 };

/**
 * Under a known setting: the lexer reads the text the scanner reads, with
 * the same literal and comment boundaries, and never gives up on it.
 */
function compareBoundaries(sql: string, scs: boolean, context: string): void {
  const theirs = oracleFor(sql, scs);
  const toks = tokenize(sql, scs);
  if (!theirs) {
    stats.refused++;
    return; // the server refuses the text under this setting: nothing to agree on
  }
  const ours = mine(toks);
  // libpg_query's scanner reports `--` comments as tokens, so it does not continue a string across one
  // ('a' -- c\n'b'): a `--` comment after one of its strings, with only whitespace (a newline among it)
  // and comments up to the next quote, is where the server would have continued that string
  const quirk = () =>
    theirs.some((c, i) => {
      if (c.name !== 'SQL_COMMENT') return false;
      let k = i - 1;
      while (k >= 0 && theirs[k].name === 'SQL_COMMENT') k--;
      const p = theirs[k];
      if (!p || !isOracleString({ tokenName: p.name, text: p.text }) || !p.text.endsWith("'")) return false;
      const gap = /^[ \t\f\v\r\n]*$/.test(sql.slice(p.end, c.start));
      const after = /^(?:[ \t\f\v\r\n]|--[^\r\n]*)*'/.exec(sql.slice(c.end));
      return gap && after !== null && /[\r\n]/.test(sql.slice(p.end, c.end + after[0].length));
    });
  const last = toks[toks.length - 1];
  if (last?.kind === 'unsure') {
    if (quirk()) {
      stats.quirk++;
      return;
    }
    throw new Error(`${context} (scs ${scs ? 'on' : 'off'}): the lexer gives up (${JSON.stringify(sql.slice(last.start, last.start + 20))}) where the scanner reads on`);
  }
  const expected = oracleBoundaries(theirs);
  if (JSON.stringify(ours) !== JSON.stringify(expected)) {
    if (quirk()) {
      stats.quirk++;
      return;
    }
    expect({ context, scs, tokens: ours }).toEqual({ context, scs, tokens: expected });
  }
  stats.agree++;
}

function withoutLocations(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutLocations);
  if (node && typeof node === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) if (!/location$|^stmt_len$|_list_start$|_list_end$/.test(k)) out[k] = withoutLocations(v);
    return out;
  }
  return node;
}

const COMMENT = `/*traceparent='${TP}'*/`;

/**
 * The trace comment placed for a session with this setting (undefined:
 * unknown) is one comment where it must be under every reading that may
 * apply, and the statement is otherwise the same token for token.
 */
function checkPlacement(sql: string, scs: boolean | undefined, context: string, compareParse: boolean): void {
  stats.cases++;
  const { sql: out, placement } = placeComment(sql, COMMENT, scs);
  stats[placement.where]++;
  for (const r of readings(scs)) {
    const before = oracleFor(sql, r);
    if (!before) continue; // refused under this reading, with or without a comment
    const significant = before.filter((t) => !isOracleComment({ tokenName: t.name }) && t.name !== 'ASCII_59');
    if (placement.where === 'none') {
      if (placement.reason === 'empty') expect({ context, r, significant: significant.length }).toEqual({ context, r, significant: 0 });
      else expect({ context, r, hasComment: before.some((t) => isOracleComment({ tokenName: t.name })) }).toEqual({ context, r, hasComment: true });
      continue;
    }
    const after = oracleFor(out, r);
    if (!after) throw new Error(`${context} (scs ${r ? 'on' : 'off'}): the scanner refuses the text once commented: ${JSON.stringify(out)}`);
    const mineAt = after.findIndex((t) => t.name === 'C_COMMENT' && t.text === COMMENT && (placement.where === 'head' ? t.start === 0 : true));
    const rest = after.filter((_t, i) => i !== mineAt);
    const edge = placement.where === 'head' ? 0 : after.map((t) => t.name !== 'ASCII_59').lastIndexOf(true);
    const shape = (ts: OTok[]) => ts.map((t) => `${t.name}:${t.text}`);
    expect({ context, r, where: placement.where, at: mineAt, rest: shape(rest) }).toEqual({ context, r, where: placement.where, at: edge, rest: shape(before) });
    // and the lexer reads it back as the trace comment, under that reading
    expect({ context, r, check: confirmTraceComment(out, placement.where, IDS, true, r) }).toEqual({ context, r, check: 'confirmed' });
    if (compareParse && r) {
      let tree: unknown;
      try {
        tree = pgq.parseSync(sql);
      } catch {
        continue;
      }
      expect({ context, tree: withoutLocations(pgq.parseSync(out)) }).toEqual({ context, tree: withoutLocations(tree) });
      stats.parseCompared++;
    }
  }
}

/** Start of the first significant token at or after a char offset (the parser's stmt_location may point at the whitespace or comment before it). */
function firstTokenFrom(sql: string, toks: Token[], at: number): number {
  return toks.find((t) => t.start >= at && t.kind !== 'space' && !isComment(t.kind) && t.kind !== 'semicolon')!.start;
}

/** tokens db.query.text shows as written */
const VISIBLE = new Set<TokenKind>(['word', 'qident', 'op', 'param', 'semicolon', 'open', 'close']);

beforeAll(() => pgq.loadModule());

test(`${RUNS} generated texts: no literal leaks, boundaries agree with PostgreSQL's scanner (seed ${SEED})`, () => {
  let parsed = 0;
  let unsure = 0;
  let confirmed = 0;
  let placed = 0;
  let offChecked = 0;
  for (let run = 0; run < RUNS; run++) {
    const g = new Gen(prng(SEED + run));
    const { sql, offReading } = g.texts();
    // every text, parsed or not: the comment placed for each setting, the boundaries under each reading
    const where = `seed ${SEED + run}: ${JSON.stringify(sql)}`;
    for (const scs of [true, false, undefined]) checkPlacement(sql, scs, where, run % 4 === 0);
    for (const scs of [true, false]) compareBoundaries(sql, scs, where);
    let tree: unknown;
    try {
      tree = pgq.parseSync(sql);
    } catch {
      continue; // not SQL the server accepts: nothing to compare with
    }
    parsed++;
    const context = `seed ${SEED + run}: ${JSON.stringify(sql)}`;
    const toks = tokenize(sql);
    const masked = renderTokens(sql, toks, 0, toks.length, true);

    let offTree: unknown = null;
    try {
      offTree = pgq.parseSync(offReading);
    } catch {
      // that server would refuse the text: nothing of it is shown
    }
    for (const secret of [...g.markers, ...g.numbers, ...constants(tree).filter((v) => v.length >= 6), ...constants(offTree).filter((v) => v.length >= 6)]) {
      if (masked.includes(secret)) throw new Error(`${context}\nleaks ${JSON.stringify(secret)} in ${JSON.stringify(masked)}`);
    }
    if (offTree) {
      // no token shown as written may lie inside a literal of the scs=off reading
      for (const lit of scannerTokens(offReading)!.filter((t) => t.kind === 'string')) {
        const shown = toks.find((t) => VISIBLE.has(t.kind) && t.start < lit.end && t.end > lit.start);
        if (shown) throw new Error(`${context}\nshows ${JSON.stringify(sql.slice(shown.start, shown.end))}, inside the literal ${JSON.stringify(offReading.slice(lit.start, lit.end))} of the standard_conforming_strings=off reading`);
      }
      offChecked++;
    }

    const last = toks[toks.length - 1];
    const doubtAt = last?.kind === 'unsure' ? last.start : sql.length;
    if (doubtAt < sql.length) unsure++;
    const theirs = scannerTokens(sql)!.filter((t) => t.start < doubtAt);
    const ours = mine(toks).filter((t) => t.start < doubtAt);
    expect({ context, tokens: ours }).toEqual({ context, tokens: theirs });

    if (doubtAt === sql.length) {
      // the statements are the server's: same count, each starting where the parser says
      const starts = splitStatements(sql, toks).map((r) => toks.slice(r.from, r.to).find((t) => t.kind !== 'space' && !isComment(t.kind))!.start);
      const at = byteToChar(sql);
      const theirStarts = (tree as { stmts: { stmt_location?: number }[] }).stmts.map((st) => firstTokenFrom(sql, toks, at(st.stmt_location ?? 0)));
      expect({ context, starts }).toEqual({ context, starts: theirStarts });

      const all = pgq.scanSync(sql).tokens.filter((t) => t.tokenName !== 'ASCII_59');
      for (const where of ['head', 'tail'] as const) {
        const edge = where === 'head' ? all[0] : all[all.length - 1];
        const expected = edge.tokenName === 'C_COMMENT' && edge.text.includes(`traceparent='${TP}'`) ? 'confirmed' : 'rejected';
        expect({ context, where, check: confirmTraceComment(sql, where, IDS, true) }).toEqual({ context, where, check: expected });
        if (expected === 'confirmed') confirmed++;
      }
    }

    const scan = scanSql(sql);
    if (!scan.hasComment && scan.complete) placed++;
  }
  // the generator must keep producing SQL the server accepts, with every outcome represented
  expect(parsed).toBeGreaterThan(RUNS * 0.6);
  expect(unsure).toBeGreaterThan(0);
  expect(confirmed).toBeGreaterThan(0);
  expect(placed).toBeGreaterThan(0);
  expect(offChecked).toBeGreaterThan(0);
  console.log(`${RUNS} texts: ${parsed} parsed (${offChecked} in the scs=off reading too), ${unsure} masked from a doubt on, ${confirmed} trace comments confirmed, ${placed} SDK comments placed`);
}, Math.max(120_000, RUNS * 40)); // ~5 ms a text on a loaded machine

test(`${RUNS} edge SELECTs under each setting: comments placed where they must be, boundaries agree (seed ${SEED})`, () => {
  let parsed = 0;
  for (let run = 0; run < RUNS; run++) {
    const r = new Rand(edgePrng(SEED ^ (run * 2654435761)));
    const scs = [true, false, undefined][run % 3];
    const sql = edgeSelect(r, scs);
    const context = `edge seed ${SEED ^ (run * 2654435761)} (${run % 3}): ${JSON.stringify(sql)}`;
    // written for its setting: the server parses it under that setting (both when unknown)
    for (const reading of readings(scs)) {
      if (oracleFor(sql, reading) === null) throw new Error(`${context}: the generator wrote a text the scanner refuses under scs ${reading}`);
    }
    if (scs !== false) {
      pgq.parseSync(sql);
      parsed++;
    }
    for (const s of [true, false, undefined]) checkPlacement(sql, s, context, run % 4 === 0);
    for (const s of [true, false]) compareBoundaries(sql, s, context);
  }
  expect(parsed).toBeGreaterThan(RUNS * 0.6);
}, Math.max(120_000, RUNS * 40));

test(`${RUNS} random texts under each setting: the lexer agrees with the scanner, comments stay comments (seed ${SEED})`, () => {
  for (let run = 0; run < RUNS; run++) {
    const r = new Rand(edgePrng(SEED + 7 * run + 1));
    const sql = randomText(r);
    const context = `random seed ${SEED + 7 * run + 1}: ${JSON.stringify(sql)}`;
    for (const s of [true, false, undefined]) checkPlacement(sql, s, context, false);
    for (const s of [true, false]) compareBoundaries(sql, s, context);
  }
}, Math.max(120_000, RUNS * 40));

afterAll(() => {
  // every outcome is represented, and the counts go in the log
  expect(stats.cases).toBeGreaterThanOrEqual(RUNS * 9);
  expect(stats.tail).toBeGreaterThan(0);
  expect(stats.head).toBeGreaterThan(0);
  expect(stats.agree).toBeGreaterThan(RUNS);
  expect(stats.parseCompared).toBeGreaterThan(0);
  console.log(
    `differential: ${stats.cases} cases (text × setting): comment at the tail ${stats.tail}, at the head ${stats.head}, none ${stats.none} (empty or already commented); ` +
      `boundaries: ${stats.agree} readings agree with the scanner, ${stats.refused} refused by it, ${stats.quirk} libpg_query comment-in-continuation quirks; ${stats.parseCompared} parse trees compared`,
  );
});
