// Lexer and formatter, no database.
import { scanSql } from '@pgferret/sql';
import { addComment, formatComment, insertComment } from '../src/comment/format';

const TAGS = { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' };
const C = "/*traceparent='00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'*/";

describe('scanSql', () => {
  test.each([
    ['SELECT 1', false],
    ["SELECT '--'", false],
    ["SELECT '/*x'", false],
    ["SELECT 'it''s -- not a comment'", false],
    ["SELECT E'\\' -- still a string'", false],
    ["SELECT e'a\\\\' -- real", true],
    ['SELECT "a--b" FROM t', false],
    ['SELECT "x""/*" FROM t', false],
    ['SELECT $$ -- $$', false],
    ['SELECT $fn$ /* $$ */ $fn$', false],
    ['SELECT $1::int -- c', true],
    ['SELECT a$b$c FROM t -- c', true],
    ["SELECT U&'d\\0061t' /* c */", true],
    ['SELECT 1 -- trailing', true],
    ['SELECT /* a /* nested */ still */ 1', true],
    ['SELECT 1 /* x */', true],
    ['SELECT 2-1', false],
    ['SELECT 4/2', false],
  ])('%s → hasComment=%s', (sql, expected) => {
    const r = scanSql(sql);
    expect(r.hasComment).toBe(expected);
    expect(r.complete).toBe(true);
  });

  test('nested block comments end at the matching close', () => {
    expect(scanSql('SELECT /* a /* b */ c */ 1').end).toBe('SELECT /* a /* b */ c */ 1'.length);
    expect(scanSql('SELECT /* a /* b */ 1').complete).toBe(false);
  });

  test.each([["SELECT 'open"], ['SELECT "open'], ['SELECT $x$ open'], ["SELECT E'\\'"]])('unterminated %s', (sql) => {
    expect(scanSql(sql).complete).toBe(false);
  });

  test('end skips trailing semicolons and whitespace', () => {
    expect(scanSql('SELECT 1;  \n').end).toBe(8);
    expect(scanSql('SELECT 1; SELECT 2 ;;').end).toBe(18);
    expect(scanSql('  ;; ').end).toBe(0);
  });
});

describe('formatComment', () => {
  test('spec example: encoding, escaping, code-unit order', () => {
    expect(formatComment({ route: '/param*d', controller: 'index', action: "it's", framework: 'spring' })).toBe(
      "/*action='it\\'s',controller='index',framework='spring',route='%2Fparam*d'*/",
    );
  });

  test('keys are encoded and pairs sorted by serialized key=value in code-unit order', () => {
    expect(formatComment({ b: '1', 'a b': '2', B: '3', a: '4' })).toBe("/*B='3',a%20b='2',a='4',b='1'*/");
  });

  test('no pairs → empty, and undefined/null/empty/objects are dropped', () => {
    expect(formatComment({})).toBe('');
    expect(formatComment({ a: undefined, b: null, c: '' })).toBe('');
    expect(formatComment({ n: 3, t: true })).toBe("/*n='3',t='true'*/");
  });

  test('hostile values cannot leave the comment', () => {
    const c = formatComment({ x: "*/ DROP TABLE t; /* '\n\0", y: '\uD800', z: 'x'.repeat(10_000) });
    expect(c.startsWith('/*')).toBe(true);
    expect(c.slice(2, -2)).not.toMatch(/\/\*|\*\/|[\n\0]/);
    expect(c).toContain("y='%EF%BF%BD'");
    expect(c.length).toBeLessThan(700);
  });
});

describe('addComment', () => {
  test('appends with a space', () => {
    expect(addComment('SELECT 1', TAGS)).toBe(`SELECT 1 ${C}`);
  });
  test('goes before a trailing ; and whitespace', () => {
    expect(addComment('SELECT 1;\n', TAGS)).toBe(`SELECT 1 ${C};\n`);
  });
  test("SELECT '--' is still commented", () => {
    expect(addComment("SELECT '--'", TAGS)).toBe(`SELECT '--' ${C}`);
  });
  test('a statement with a real comment is left alone', () => {
    expect(addComment('SELECT 1 -- mine', TAGS)).toBe('SELECT 1 -- mine');
    expect(addComment('/* mine */ SELECT 1', TAGS)).toBe('/* mine */ SELECT 1');
  });
  test('an end the lexer is unsure of gets the comment at the start, trace context first', () => {
    const tags = { route: '/r', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' };
    const head = "/*traceparent='00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',route='%2Fr'*/ ";
    expect(addComment("SELECT 'x", tags)).toBe(`${head}SELECT 'x`);
    // the issue 21 cases: where 'C:\' ends depends on standard_conforming_strings
    const win = "SELECT 'C:\\' AS path, '--' AS d";
    expect(addComment(win, tags)).toBe(`${head}${win}`);
    expect(addComment(win, tags, true)).toBe(`${win} /*route='%2Fr',traceparent='00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'*/`);
    // with the setting off, the `--` is a comment: the statement is left alone
    expect(addComment(win, tags, false)).toBe(win);
    // non-ASCII dollar tags are PostgreSQL's (dolq_start [A-Za-z\200-\377_]): the end is sure
    expect(addComment('SELECT $été$ -- $ét$ $été$ AS t', tags)).toBe(`SELECT $été$ -- $ét$ $été$ AS t /*route='%2Fr',traceparent='00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'*/`);
  });
  test('empty text, no tags → unchanged', () => {
    expect(addComment('', TAGS)).toBe('');
    expect(addComment(' ; ', TAGS)).toBe(' ; ');
    expect(addComment('SELECT 1', {})).toBe('SELECT 1');
    expect(insertComment('SELECT 1', '')).toBe('SELECT 1');
  });
});
