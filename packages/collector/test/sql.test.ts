import { SqlDescriber, withoutTraceComment } from '../src/spans/describe';
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
    expect(a).toEqual({ name: 'SELECT t', operation: 'SELECT', collection: 't', queryText: 'SELECT * FROM t WHERE id = ?' });
    const multi = "BEGIN; UPDATE a SET x = 1; COMMIT /*traceparent='00-aa-bb-01'*/";
    expect([0, 1, 2].map((i) => d.describe(multi, 2, i).name)).toEqual(['BEGIN', 'UPDATE a', 'COMMIT']);
    expect(new SqlDescriber(true).describe("SELECT 'x' /*c*/", 2, 0).queryText).toBe("SELECT 'x'");
  });
});
