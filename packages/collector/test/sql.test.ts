import { layoutSql } from '../src/embedded/sql-layout';
import { Origin } from '../src/events/layout';
import { prng, Rand, edgeSelect } from '../../sql/test/edge-sql';
import { SqlDescriber, sqlShape, withoutTraceComment } from '../src/spans/describe';
import { describeSql, spanName } from '../src/spans/sql';

const maskSql = (sql: string) => describeSql(sql, false)[0].queryText;
const stripComments = (sql: string) => describeSql(sql, true)[0].queryText;

describe('maskSql', () => {
  it('masks string, numeric and dollar-quoted literals and drops comments', () => {
    expect(maskSql("SELECT * FROM users WHERE name = 'bob' AND age > 42 /*traceparent='00-a-b-01'*/"))
      .toBe('SELECT * FROM users WHERE name = ? AND age > ?');
    expect(maskSql("SELECT E'it\\'s', $$x;y$$, $tag$ a $tag$, 1.5e-3, $1")).toBe('SELECT ?, ?, ?, ?, $1');
    expect(maskSql("/* c1 /* nested */ still */ SELECT 'a''b' -- tail")).toBe('SELECT ?');
  });
  it('keeps identifiers, including quoted ones', () => {
    expect(maskSql('SELECT "Weird""Name" FROM "T"')).toBe('SELECT "Weird""Name" FROM "T"');
  });
});

describe('stripComments', () => {
  it('removes the comment but keeps literals', () => {
    expect(stripComments("SELECT 'x' /*traceparent='00-a-b-01'*/")).toBe("SELECT 'x'");
  });
});

describe('statements of a multi-statement string', () => {
  it('splits at top-level semicolons only', () => {
    expect(describeSql("BEGIN; SELECT ';' ; SELECT $$;$$; /* ; */", true).map((d) => d.queryText)).toEqual(['BEGIN', "SELECT ';'", 'SELECT $$;$$']);
  });
});

describe('operation, table and span name', () => {
  const name = (s: string) => spanName(describeSql(s, false)[0]);
  it('names spans after operation and table', () => {
    expect(name('select * from public.Users u where id = 1')).toBe('SELECT public.users');
    expect(name('INSERT INTO orders (a) VALUES (1) RETURNING id')).toBe('INSERT orders');
    expect(name('UPDATE ONLY accounts SET x = 1')).toBe('UPDATE accounts');
    expect(name('DELETE FROM "Orders" WHERE id = 2')).toBe('DELETE Orders');
    expect(name('WITH t AS (SELECT * FROM a) SELECT * FROM b JOIN t ON true')).toBe('SELECT b');
    expect(name('SELECT 1')).toBe('SELECT');
    expect(name('SELECT * FROM (SELECT 1) s')).toBe('SELECT');
    expect(name('BEGIN')).toBe('BEGIN');
    expect(name('')).toBe('postgresql');
  });
});

describe('SqlDescriber', () => {
  it('cuts the trace comment off before caching, so one query text is described once', () => {
    expect(withoutTraceComment("SELECT 1 /*traceparent='x'*/", 2)).toBe('SELECT 1 ');
    expect(withoutTraceComment("/*traceparent='x'*/ SELECT 1", 1)).toBe(' SELECT 1');
    const d = new SqlDescriber(false);
    const a = d.describe("SELECT * FROM t WHERE id = 5 /*traceparent='00-aa-bb-01'*/", 2, 0);
    const b = d.describe("SELECT * FROM t WHERE id = 5 /*traceparent='00-cc-dd-01'*/", 2, 0);
    expect(a).toBe(b);
    expect(a).toEqual({ name: 'SELECT t', operation: 'SELECT', collection: 't', queryText: 'SELECT * FROM t WHERE id = ?', traceparent: null });
    const multi = "BEGIN; UPDATE a SET x = 1; COMMIT /*traceparent='00-aa-bb-01'*/";
    expect([0, 1, 2].map((i) => d.describe(multi, 2, i).name)).toEqual(['BEGIN', 'UPDATE a', 'COMMIT']);
    expect(new SqlDescriber(true).describe("SELECT 'x' /*c*/", 2, 0).queryText).toBe("SELECT 'x'");
  });

  it('texts that differ in literals and whitespace share a description by their shape, equal to describing each', () => {
    const d = new SqlDescriber(false);
    const first = d.describe('SELECT abalance FROM pgbench_accounts WHERE aid = 17', 3, 0);
    const other = d.describe("SELECT  abalance\nFROM pgbench_accounts WHERE aid = 123456 ", 3, 0);
    expect(other).toBe(first); // from the shape: not described again
    expect(d.describe('SELECT abalance FROM pgbench_accounts WHERE aid=17', 3, 0)).not.toBe(first); // no space: another shape
    expect(new SqlDescriber(true).describe("SELECT 'b'", 3, 0).queryText).toBe("SELECT 'b'"); // raw texts have no shape
    // generated SQL at the scanner's edges, each described after another text of its shape was
    const r = new Rand(prng(19));
    const lit = (): string => r.pick(["'x'", "E'\\''", '42', '1.5e-3', "$$;$$", "$a$ é $a$", "B'101'", "U&'d\\0061t'", "'it''s'", '.5', "X'ff'"]);
    let shared = 0;
    for (let i = 0; i < 2000; i++) {
      const scs = r.pick([true, false, undefined]);
      const template = r.int(2) === 0 ? edgeSelect(r, scs, 0) : `${r.pick(['SELECT', 'UPDATE t SET a =', 'INSERT INTO "T" VALUES ('])} @ ${r.pick(['', ')', '; SELECT @', ' FROM x.y WHERE b = @'])}`;
      const a = template.replace(/@/g, lit);
      const b = template.replace(/@/g, lit);
      const described = new SqlDescriber(false);
      described.describe(a, 3, 0, scs);
      for (let index = 0; index < 3; index++) {
        const got = described.describe(b, 3, index, scs);
        const want = describeSql(b, false, scs).map((x) => ({ name: spanName(x), ...x }));
        expect({ b, scs, index, got }).toEqual({ b, scs, index, got: want[Math.min(index, want.length - 1)] });
      }
      if (sqlShape(a, scs) !== null && sqlShape(a, scs) === sqlShape(b, scs)) shared++;
    }
    expect(shared).toBeGreaterThan(500);
  });
});

const TP = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

describe('issue 9: masking never leaks, names come from real tokens', () => {
  it('a nested comment at the start goes whole: it neither names the span nor shows its text', () => {
    const sql = `/* /* traceparent='${TP}' */ password=hunter2 */ SELECT 1`;
    const d = new SqlDescriber(false).describe(sql, Origin.HEAD, 0);
    expect(d).toMatchObject({ name: 'SELECT', operation: 'SELECT', queryText: 'SELECT ?' });
    expect(withoutTraceComment(sql, Origin.HEAD)).toBe(' SELECT 1');
    expect(new SqlDescriber(true).describe(sql, Origin.HEAD, 0).queryText).toBe('SELECT 1');
  });
  it.each([
    // PostgreSQL's scanner takes any byte >= 0x80 and any length in a tag: no doubt, the quote is masked whole
    ['non-ASCII dollar-quote tag', 'SELECT $é$hunter2$é$ FROM t', 'SELECT ? FROM t'],
    ['dollar-quote tag over 64 characters', `SELECT $${'t'.repeat(65)}$hunter2$${'t'.repeat(65)}$, 2`, 'SELECT ?, ?'],
    ["standard_conforming_strings=off style \\'", "SELECT 'a\\', 'hunter2' FROM t", 'SELECT ?'],
    ['unterminated string', "SELECT 1 FROM t WHERE p = 'hunter2", 'SELECT ? FROM t WHERE p = ?'],
    ['unterminated comment', 'SELECT 1 /* hunter2', 'SELECT ? ?'],
  ])('%s: no literal shows (everything from a doubt on is masked)', (_what, sql, masked) => {
    expect(maskSql(sql)).toBe(masked);
    expect(maskSql(sql)).not.toContain('hunter2');
  });
  it('a backslash that both readings of a string agree on is no doubt', () => {
    expect(maskSql("SELECT 'C:\\temp', 'x' FROM t WHERE a = 1")).toBe('SELECT ?, ? FROM t WHERE a = ?');
  });
});

describe('issue 9: each statement of a multi-statement string carries its own traceparent', () => {
  const tp2 = '00-11111111111111111111111111111111-2222222222222222-01';
  it('reads the leading or final comment of each statement', () => {
    const parts = describeSql(`SELECT 1 /*traceparent='${TP}'*/; /*traceparent='${tp2}'*/ UPDATE t SET a = 1; COMMIT`, false);
    expect(parts.map((p) => p.traceparent)).toEqual([
      { version: '00', traceId: '0af7651916cd43dd8448eb211c80319c', parentSpanId: 'b7ad6b7169203331', flags: 1 },
      { version: '00', traceId: '11111111111111111111111111111111', parentSpanId: '2222222222222222', flags: 1 },
      null,
    ]);
  });
  it('a traceparent in a literal of a statement is none; a bad one is malformed', () => {
    const parts = describeSql(`SELECT '/*traceparent=''${TP}''*/'; SELECT 2 /*traceparent='00-zz'*/`, false);
    expect(parts.map((p) => p.traceparent)).toEqual([null, 'malformed']);
  });
});

describe('layoutSql (the UI shows SQL laid out by the shared lexer)', () => {
  it('breaks before clauses, never inside literals, identifiers or comments', () => {
    const sql = `SELECT 'x FROM y', "a WHERE b" FROM t LEFT JOIN u ON true /* WHERE */ WHERE $$ ORDER BY $$ = 'z' ORDER BY 1 /*traceparent='${TP}'*/`;
    expect(layoutSql(sql)).toBe(
      `SELECT 'x FROM y', "a WHERE b"\nFROM t\nLEFT JOIN u ON true /* WHERE */\nWHERE $$ ORDER BY $$ = 'z'\nORDER BY 1\n/*traceparent='${TP}'*/`,
    );
  });
  it('leaves short or already laid-out text alone', () => {
    expect(layoutSql('SELECT 1 FROM t')).toBe('SELECT 1 FROM t');
    expect(layoutSql(`SELECT a\nFROM t WHERE x = 1 AND y = 2 AND z = 3 AND w = 4 AND v = 5`)).toContain('FROM t WHERE');
  });
});
