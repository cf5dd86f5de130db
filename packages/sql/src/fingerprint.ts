// One identity per statement, for every consumer (the span store's top
// queries, /metrics, diagnose, the UI through the API): the text's tokens
// with comments dropped, whitespace collapsed and literals replaced the way
// pg_stat_statements shows them, `$1`, `$2`… numbered after the text's own
// parameters; a list of constants or parameters in `IN (…)` or `ARRAY[…]`
// squashed to one item (`IN ($1 /*, ... */)`, as PostgreSQL 18 does); a
// multi-row VALUES whose rows have one shape folded to its first row. The id
// hashes the same form with unquoted words lower-cased (PostgreSQL folds
// them), so `select` and `SELECT` are one statement. `?` (the mask of
// db.query.text) counts as a literal, so masked and raw texts agree.
import { createHash } from 'node:crypto';
import { isComment, tokenize, type Token } from './lexer';
import { splitStatements } from './statements';

export interface StatementFingerprint {
  /** 16 hex digits of the SHA-1 of the canonical form */
  id: string;
  /** the normalized text as written (first `maxText` characters, then `…`) */
  text: string;
}

/** Longest text kept; longer ones are hashed in full and shown cut. */
export const FINGERPRINT_TEXT_MAX = 4096;

type Kind = 'const' | 'param' | 'open' | 'close' | 'comma' | 'word' | 'other';
interface Item {
  kind: Kind;
  /** as written (words keep their case) */
  shown: string;
  /** as hashed */
  canon: string;
  /** whitespace or a comment stood before it */
  space: boolean;
  /** for `const` items that stand for a squashed list */
  squashed?: boolean;
}

// after these a `-` is a sign, not a minus (the grammar folds it into the constant)
const SIGN_AFTER = new Set(['select', 'where', 'and', 'or', 'not', 'when', 'then', 'else', 'values', 'return', 'returning', 'limit', 'offset', 'by', 'set', 'in', 'between', 'is', 'as', 'like', 'case', 'on', 'having', 'using', 'array']);

function items(sql: string, toks: readonly Token[], from: number, to: number): { list: Item[]; maxParam: number } {
  const list: Item[] = [];
  let maxParam = 0;
  let space = false;
  for (let i = from; i < to; i++) {
    const t = toks[i];
    if (t.kind === 'space' || isComment(t.kind)) {
      space = list.length > 0;
      continue;
    }
    const raw = sql.slice(t.start, t.end);
    let kind: Kind;
    let canon = raw;
    switch (t.kind) {
      case 'string':
      case 'number':
      case 'unsure':
        kind = 'const';
        break;
      case 'param':
        kind = 'param';
        maxParam = Math.max(maxParam, Number(raw.slice(1)));
        break;
      case 'open':
        kind = 'open';
        break;
      case 'close':
        kind = 'close';
        break;
      case 'word':
        kind = 'word';
        canon = raw.toLowerCase();
        break;
      default:
        kind = raw === '?' ? 'const' : raw === ',' ? 'comma' : raw === '[' ? 'open' : raw === ']' ? 'close' : 'other';
    }
    // -5 (or -? once masked): one constant when the minus is a sign
    if (kind === 'const' && (t.kind === 'number' || raw === '?') && !space) {
      const minus = list[list.length - 1];
      const before = list[list.length - 2];
      if (minus?.shown === '-' && (!before || before.kind === 'open' || before.kind === 'comma' || (before.kind === 'other' && before.shown !== ')') || (before.kind === 'word' && SIGN_AFTER.has(before.canon)))) {
        list.pop();
        list.push({ kind, shown: raw, canon: raw, space: minus.space });
        space = false;
        continue;
      }
    }
    list.push({ kind, shown: raw, canon, space });
    space = false;
  }
  return { list, maxParam };
}

/** `IN (…)` / `ARRAY[…]` lists of two or more constants or parameters become one squashed constant. */
function squashLists(list: Item[]): Item[] {
  const out: Item[] = [];
  for (let i = 0; i < list.length; i++) {
    const it = list[i];
    const prev = out[out.length - 1];
    const opensList = it.kind === 'open' && prev?.kind === 'word' && ((it.shown === '(' && prev.canon === 'in') || (it.shown === '[' && prev.canon === 'array'));
    if (opensList) {
      let j = i + 1;
      let n = 0;
      while (j < list.length && (list[j].kind === 'const' || list[j].kind === 'param')) {
        n++;
        j++;
        if (list[j]?.kind === 'comma') j++;
        else break;
      }
      if (n >= 2 && list[j]?.kind === 'close' && list[j - 1].kind !== 'comma') {
        out.push(it, { kind: 'const', shown: '', canon: '', space: false, squashed: true }, list[j]);
        i = j;
        continue;
      }
    }
    out.push(it);
  }
  return out;
}

/** `VALUES (…), (…), …` with rows of one shape: the first row stands for all. */
function foldRows(list: Item[]): Item[] {
  const out: Item[] = [];
  const rowEnd = (from: number): number => {
    if (list[from]?.kind !== 'open' || list[from].shown !== '(') return -1;
    let depth = 0;
    for (let j = from; j < list.length; j++) {
      if (list[j].kind === 'open') depth++;
      else if (list[j].kind === 'close' && --depth === 0) return j + 1;
    }
    return -1;
  };
  const shape = (from: number, to: number) => list.slice(from, to).map((x) => (x.kind === 'const' || x.kind === 'param' ? '\u0001' : x.canon)).join(' ');
  for (let i = 0; i < list.length; i++) {
    out.push(list[i]);
    if (list[i].kind !== 'word' || list[i].canon !== 'values') continue;
    const firstEnd = rowEnd(i + 1);
    if (firstEnd < 0) continue;
    const first = shape(i + 1, firstEnd);
    let end = firstEnd;
    let rows = 1;
    while (list[end]?.kind === 'comma') {
      const e = rowEnd(end + 1);
      if (e < 0 || shape(end + 1, e) !== first) break;
      end = e;
      rows++;
    }
    if (rows < 2) continue;
    for (let k = i + 1; k < firstEnd; k++) out.push(list[k]);
    out.push({ kind: 'other', shown: '/*, ... */', canon: '/*,...*/', space: true });
    i = end - 1;
  }
  return out;
}

function render(list: Item[], firstNumber: number): { shown: string; canon: string; next: number } {
  let shown = '';
  let canon = '';
  let n = firstNumber;
  for (const it of list) {
    let s = it.shown;
    let c = it.canon;
    if (it.kind === 'const') {
      s = it.squashed ? `$${n} /*, ... */` : `$${n}`;
      c = it.squashed ? '$ /*,...*/' : '$';
      n++;
    } else if (it.kind === 'param') {
      c = '$p';
    }
    if (shown && it.space) shown += ' ';
    shown += s;
    canon += (canon ? ' ' : '') + c;
  }
  return { shown, canon, next: n };
}

/** The normalized text (as shown) and canonical form (as hashed) of a (multi-statement) text. */
export function normalizeStatement(sql: string, standardConformingStrings?: boolean): { text: string; canonical: string } {
  const toks = tokenize(sql, standardConformingStrings);
  const ranges = splitStatements(sql, toks);
  if (ranges.length === 0) ranges.push({ from: 0, to: toks.length, traceparent: null });
  const parts = ranges.map((r) => items(sql, toks, r.from, r.to));
  let next = 1 + Math.max(0, ...parts.map((p) => p.maxParam));
  const shown: string[] = [];
  const canon: string[] = [];
  for (const p of parts) {
    const r = render(foldRows(squashLists(p.list)), next);
    next = r.next;
    shown.push(r.shown);
    canon.push(r.canon);
  }
  return { text: shown.join('; '), canonical: canon.join(' ; ') };
}

/** The statement's identity: the same id for the same statement whatever its literals, list lengths, comments, whitespace or keyword case. */
export function statementFingerprint(sql: string, standardConformingStrings?: boolean): StatementFingerprint {
  const { text, canonical } = normalizeStatement(sql, standardConformingStrings);
  const id = createHash('sha1').update(canonical).digest('hex').slice(0, 16);
  return { id, text: text.length > FINGERPRINT_TEXT_MAX ? `${text.slice(0, FINGERPRINT_TEXT_MAX)}…` : text };
}
