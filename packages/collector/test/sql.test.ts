import { maskSql, spanName, splitStatements, stripComments, summarizeSql } from '../src/spans/sql';

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

describe('splitStatements', () => {
  it('splits at top-level semicolons only', () => {
    expect(splitStatements("BEGIN; SELECT ';' ; SELECT $$;$$; /* ; */")).toEqual(['BEGIN', " SELECT ';' ", ' SELECT $$;$$']);
  });
});

describe('summarizeSql and spanName', () => {
  const name = (s: string) => spanName(summarizeSql(s));
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
