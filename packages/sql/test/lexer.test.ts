import { checkTraceComment, confirmTraceComment, findTraceComment, parseTraceparentAt, renderTokens, scanSql, SqlLexer, tokenize, withoutTraceComment } from '../src';
import { commentCarries } from '../src/traceparent';

const kinds = (sql: string) => tokenize(sql).filter((t) => t.kind !== 'space').map((t) => [t.kind, sql.slice(t.start, t.end)]);
const mask = (sql: string) => {
  const toks = tokenize(sql);
  return renderTokens(sql, toks, 0, toks.length, true);
};

describe('tokens', () => {
  it('reads every literal form of scan.l', () => {
    expect(kinds("SELECT 'a''b', E'\\'x', N'n', B'01', X'1f', U&'d\\0061t', $$a$b$$, $t1$ $$ $t1$, 1.5e-3, 0x1F, 1_000, .5, $1")).toEqual([
      ['word', 'SELECT'], ['string', "'a''b'"], ['op', ','], ['string', "E'\\'x'"], ['op', ','], ['word', 'N'], ['string', "'n'"], ['op', ','],
      ['string', "B'01'"], ['op', ','], ['string', "X'1f'"], ['op', ','], ['string', "U&'d\\0061t'"], ['op', ','],
      ['string', '$$a$b$$'], ['op', ','], ['string', '$t1$ $$ $t1$'], ['op', ','], ['number', '1.5e-3'], ['op', ','],
      ['number', '0x1F'], ['op', ','], ['number', '1_000'], ['op', ','], ['number', '.5'], ['op', ','], ['param', '$1'],
    ]);
  });
  it('identifiers keep `$` (a$b$ is no dollar quote), quoted ones double their quote', () => {
    expect(kinds('SELECT a$b$, "x""y", U&"z" FROM t')).toEqual([
      ['word', 'SELECT'], ['word', 'a$b$'], ['op', ','], ['qident', '"x""y"'], ['op', ','], ['qident', 'U&"z"'], ['word', 'FROM'], ['word', 't'],
    ]);
  });
  it('nests block comments and ends line comments at \\n or \\r', () => {
    expect(kinds('/* a /* b */ c */ SELECT -- x\r1')).toEqual([['block_comment', '/* a /* b */ c */'], ['word', 'SELECT'], ['line_comment', '-- x'], ['number', '1']]);
  });
  it('a dollar quote closes at the first full delimiter, as the server reads it', () => {
    expect(kinds('SELECT $a$ x $ab$a$ y')).toEqual([['word', 'SELECT'], ['string', '$a$ x $ab$a$'], ['word', 'y']]);
  });
});

describe('fails closed', () => {
  it.each([
    ["SELECT 'open", 'an unterminated string'],
    ['SELECT "open', 'an unterminated quoted identifier'],
    ['SELECT $x$ open', 'an unterminated dollar quote'],
    ["SELECT E'\\'", 'an unterminated E string'],
    ['SELECT /* open', 'an unterminated /* comment'],
    ["SELECT 'a\\', 's'", 'a backslash before a quote: where the string ends depends on standard_conforming_strings'],
  ])('%s: %s', (sql, reason) => {
    const toks = tokenize(sql);
    const last = toks[toks.length - 1];
    expect(last).toMatchObject({ kind: 'unsure', start: 7, end: sql.length });
    const lx = new SqlLexer(sql);
    while (lx.next());
    expect(lx.unsureReason).toBe(reason);
    expect(mask(sql)).toBe('SELECT ?');
    expect(scanSql(sql).complete).toBe(false);
  });
  it('dollar-quote tags of any length and with non-ASCII characters are read as PostgreSQL reads them', () => {
    for (const t of ['a'.repeat(64), 'b'.repeat(200), 'é', 'été_1', '字', '_x9']) {
      const tag = `$${t}$`;
      expect(mask(`SELECT ${tag} s ${tag}, 1`)).toBe('SELECT ?, ?');
    }
    expect(kinds('SELECT $été$ -- $ét$ $été$ AS t')).toEqual([['word', 'SELECT'], ['string', '$été$ -- $ét$ $été$'], ['word', 'AS'], ['word', 't']]);
  });
  it('a known standard_conforming_strings decides where a backslash string ends', () => {
    const sql = "SELECT 'C:\\' AS path, '--' AS d";
    expect(kinds(sql).length).toBe(2); // unsure without the setting
    expect(tokenize(sql, true).filter((t) => t.kind !== 'space').map((t) => sql.slice(t.start, t.end))).toEqual(['SELECT', "'C:\\'", 'AS', 'path', ',', "'--'", 'AS', 'd']);
    expect(tokenize(sql, false).filter((t) => t.kind !== 'space').map((t) => [t.kind, sql.slice(t.start, t.end)])).toEqual([
      ['word', 'SELECT'], ['string', "'C:\\' AS path, '"], ['line_comment', "--' AS d"],
    ]);
  });
  it('strings continue across a newline (and -- comments), as scan.l quotecontinue says', () => {
    expect(kinds("SELECT 'a'\n  'b', E'c'\r\n'd\\'e', 'f' -- x\n -- y\n'g', 'h' 'i'")).toEqual([
      ['word', 'SELECT'], ['string', "'a'\n  'b'"], ['op', ','], ['string', "E'c'\r\n'd\\'e'"], ['op', ','], ['string', "'f' -- x\n -- y\n'g'"], ['op', ','],
      ['string', "'h'"], ['string', "'i'"],
    ]);
  });
  it("1e'…' is the number 1 then an E string (scan.l realfail gives the e back)", () => {
    expect(kinds("SELECT 1e'x'")).toEqual([['word', 'SELECT'], ['number', '1'], ['string', "e'x'"]]);
    expect(kinds("SELECT 0x1e'x'")).toEqual([['word', 'SELECT'], ['number', '0x1e'], ['string', "'x'"]]);
  });
  it("U&'…' UESCAPE '…' is two literals whose ends do not depend on the escape", () => {
    expect(kinds("SELECT U&'d!0061t\\' UESCAPE '!'")).toEqual([['word', 'SELECT'], ['string', "U&'d!0061t\\'"], ['word', 'UESCAPE'], ['string', "'!'"]]);
  });
});

const TP = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const IDS = { traceId: '0af7651916cd43dd8448eb211c80319c', parentSpanId: 'b7ad6b7169203331', flags: 1 };

describe('trace comments, as the lexer reads them', () => {
  it('the issue 9 tail: a traceparent in a dollar quote before `-- */` is in no comment', () => {
    const sql = `SELECT '/*' AS a, $$traceparent='${TP}'$$ AS b -- */`;
    expect(findTraceComment(sql, 'tail')).toBeNull();
    expect(confirmTraceComment(sql, 'tail', IDS, true)).toBe('rejected');
  });
  it.each([
    [`SELECT "traceparent='${TP}' */" FROM t /* x */`, 'tail'],
    [`SELECT 1 /* a */ -- traceparent='${TP}' */`, 'tail'],
    [`SELECT 1 /* traceparent='${TP}' */ + 2`, 'tail'],
    [`SELECT 1 /* traceparent='${TP}' */`, 'head'],
    [`SELECT E'/* traceparent=\\'${TP}\\' */'`, 'head'],
  ] as const)('rejects %s (%s)', (sql, where) => {
    expect(confirmTraceComment(sql, where, IDS, true)).toBe('rejected');
  });
  it.each([
    [`SELECT 1 /*traceparent='${TP}'*/ ;\n`, 'tail'],
    [`SELECT 1 /*a='b',traceparent='${TP}',z='%2F'*/`, 'tail'],
    [`  /* /* traceparent='${TP}' */ password=x */ SELECT 1`, 'head'],
    [`/*traceparent='${TP}'*/ SELECT '*/'`, 'head'],
  ] as const)('confirms %s (%s)', (sql, where) => {
    expect(confirmTraceComment(sql, where, IDS, true)).toBe('confirmed');
  });
  it('only the ids the kernel read count', () => {
    expect(confirmTraceComment(`SELECT 1 /*traceparent='${TP}'*/`, 'tail', { ...IDS, flags: 3 }, true)).toBe('rejected');
    expect(confirmTraceComment(`SELECT 1 /*traceparent='${TP.replace('00-', 'ff-')}'*/`, 'tail', IDS, true)).toBe('rejected');
  });
  it('a cut text cannot vouch for its tail, nor for a head comment it cut', () => {
    expect(confirmTraceComment("SELECT 'long", 'tail', IDS, false)).toBe('unverifiable');
    expect(confirmTraceComment('/* traceparent=', 'head', IDS, false)).toBe('unverifiable');
    expect(confirmTraceComment('SELECT 1 /* x', 'head', IDS, false)).toBe('rejected');
  });
  it('cuts the whole trace comment', () => {
    expect(withoutTraceComment(`/* /* traceparent='${TP}' */ secret */ SELECT 1`, 'head')).toBe(' SELECT 1');
    expect(withoutTraceComment(`SELECT '/*' /*traceparent='${TP}'*/;`, 'tail')).toBe("SELECT '/*' ;");
    expect(withoutTraceComment("SELECT '/* x */'", 'tail')).toBe("SELECT '/* x */'");
  });
  it('commentCarries agrees with parsing every traceparent of the comment', () => {
    const reference = (sql: string, c: { start: number; end: number }, tp: typeof IDS) => {
      const body = sql.slice(c.start, c.end);
      const want = `-${tp.traceId}-${tp.parentSpanId}-${tp.flags.toString(16).padStart(2, '0')}`;
      for (let at = body.indexOf("traceparent='"); at >= 0; at = body.indexOf("traceparent='", at + 1)) {
        const v = at + "traceparent='".length;
        const r = parseTraceparentAt(body, v);
        if (body.startsWith(want, v + 2) && r !== null && r !== 'malformed') return true;
      }
      return false;
    };
    const ids = [IDS, { ...IDS, flags: 0 }, { ...IDS, flags: 300 }, { ...IDS, traceId: IDS.traceId.toUpperCase() }, { ...IDS, parentSpanId: '0'.repeat(16) }, { ...IDS, traceId: '0'.repeat(32) }];
    const values = [TP, TP.replace('00-', 'ff-'), TP.replace('00-', '01-'), `${TP}-x`, TP.replace('00-', '01-') + '-x', TP.replace('00-', 'G0-'), TP.replace(/-01$/, '-00'),
      `00-${'0'.repeat(32)}-b7ad6b7169203331-01`, `00-0af7651916cd43dd8448eb211c80319c-${'0'.repeat(16)}-01`, `00-${IDS.traceId.toUpperCase()}-b7ad6b7169203331-01`, `00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-12c`];
    let carried = 0;
    for (const v of values) {
      for (const close of ["'*/", "' */", '*/', "'"]) {
        for (const before of ['', "traceparent='x' ", `traceparent='${TP.slice(0, 20)}' `]) {
          const sql = `SELECT 1 /*${before}traceparent='${v}${close}`;
          const c = { start: 9, end: sql.endsWith('*/') ? sql.length : sql.length - 1 };
          for (const tp of ids) {
            const got = commentCarries(sql, { kind: 'block_comment', ...c }, tp);
            expect({ sql, tp, got }).toEqual({ sql, tp, got: reference(sql, c, tp) });
            if (got) carried++;
          }
        }
      }
    }
    expect(carried).toBeGreaterThan(10);
  });
  it('the comment the check found cuts what a fresh search cuts, under every reading', () => {
    const texts = [
      `SELECT 1 /*traceparent='${TP}'*/ ;\n`, `  /* /* traceparent='${TP}' */ password=x */ SELECT 1`, `/*traceparent='${TP}'*/ SELECT '*/'`,
      `SELECT '/*' AS a, $$traceparent='${TP}'$$ AS b -- */`, `SELECT 1 /* traceparent='${TP}' */ + 2`, `SELECT E'\\' /*traceparent='${TP}'*/`,
      `SELECT 'a\\' /*traceparent='${TP}'*/ '`, "SELECT 'long", '/* traceparent=', 'SELECT 1 /* x', '',
    ];
    let reused = 0;
    for (const sql of texts) {
      for (const where of ['head', 'tail'] as const) {
        for (const scs of [true, false, undefined]) {
          for (const complete of [true, false]) {
            const r = checkTraceComment(sql, where, IDS, complete, scs);
            expect({ sql, where, scs, check: r.check }).toEqual({ sql, where, scs, check: confirmTraceComment(sql, where, IDS, complete, scs) });
            if (r.comment === undefined) continue;
            reused++;
            expect({ sql, where, scs, cut: withoutTraceComment(sql, where, scs, r.comment) }).toEqual({ sql, where, scs, cut: withoutTraceComment(sql, where, scs) });
          }
        }
      }
    }
    // all but a tail under an unknown setting: 10 of the 12 combinations of each text
    expect(reused).toBe(texts.length * 10);
  });
});
