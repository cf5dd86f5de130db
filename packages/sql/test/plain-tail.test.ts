// findTraceComment's tail without the lexer (plainTail, for the common shape:
// a statement with one comment appended) must answer what the lexer's tokens
// answer, on texts built to take that path and on hostile ones that must not.
// The lexer itself is held to PostgreSQL's scanner in oracle.test.ts.
import { findTraceComment, tokenize, type Token } from '../src';
import { prng, Rand } from './edge-sql';

/** The tail comment as the lexer's tokens give it: the last block comment with only `;` and whitespace after it. */
function tailByTokens(sql: string, scs: boolean): Token | null {
  let last: Token | null = null;
  for (const t of tokenize(sql, scs)) {
    if (t.kind === 'unsure') return null;
    if (t.kind === 'block_comment') last = { kind: t.kind, start: t.start, end: t.end };
    else if (t.kind !== 'space' && t.kind !== 'semicolon') last = null;
  }
  return last;
}

const TP = "traceparent='00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'";
// what an ORM's statement is made of before the comment: no quote, dollar quote or `--`
const PLAIN = ['SELECT', ' ', 'a', 'b1', '$1', '$23', '=', '+', ' - ', '*', ' / ', '(', ')', ',', '.', '1.5', '\n', '\t', ';', 'é'];
// what can make the text not plain, or move, hide or nest the comment
const HOSTILE = ["'", '"', '$$', '$a$', '--', '/*', '*/', 'E\'', 'U&"', '\\', '**/', '/*/', 'a$b', '$', '\r', '\f', '\v'];

function statement(r: Rand, alphabet: string[], n: number): string {
  return r.many(n, () => r.pick(alphabet));
}

describe('the tail comment without the lexer', () => {
  it('answers as the lexer does on 20,000 texts, plain and hostile, under both standard_conforming_strings readings', () => {
    let plainFound = 0;
    for (let i = 0; i < 20000; i++) {
      const r = new Rand(prng(0x7a11 + i));
      const hostile = i % 2 === 1;
      const alphabet = hostile ? [...PLAIN, ...HOSTILE] : PLAIN;
      const body = hostile && r.int(3) === 0 ? statement(r, [...HOSTILE, ' ', 'x', '*', '/'], 1 + r.int(4)) : ` ${TP} `;
      const tail = statement(r, [' ', ';', '\n', ''], r.int(4));
      const sql = `${statement(r, alphabet, 1 + r.int(12))}/*${body}*/${tail}`;
      for (const scs of [true, false]) {
        const got = findTraceComment(sql, 'tail', scs);
        expect({ sql, scs, got }).toEqual({ sql, scs, got: tailByTokens(sql, scs) });
        if (!hostile && got) plainFound++;
      }
    }
    // the plain family found its comment every time (the shortcut's path, not a fall-back to nothing)
    expect(plainFound).toBe(20000);
  });

  it('leaves to the lexer what only it can read', () => {
    // the comment inside a string, a dollar quote, a line comment; a nested comment; two comments
    expect(findTraceComment(`SELECT '/*${TP}*/'`, 'tail')).toBeNull();
    expect(findTraceComment(`SELECT $$ /*${TP}*/`, 'tail')).toBeNull();
    expect(findTraceComment(`SELECT 1 -- /*${TP}*/`, 'tail')).toBeNull();
    expect(findTraceComment(`SELECT 1 /* a /* b */ ${TP} */`, 'tail')).toEqual({ kind: 'block_comment', start: 9, end: 9 + `/* a /* b */ ${TP} */`.length });
    expect(findTraceComment(`/* head */ SELECT 1 /*${TP}*/;`, 'tail')).toEqual({ kind: 'block_comment', start: 20, end: 20 + `/*${TP}*/`.length });
    // a parameter is no dollar quote
    expect(findTraceComment(`UPDATE t SET v = v + $1 WHERE k = $2 /*${TP}*/ ;\n`, 'tail')).toEqual({ kind: 'block_comment', start: 37, end: 37 + `/*${TP}*/`.length });
  });
});
