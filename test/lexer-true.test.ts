// End to end, on both probe sets: what the shared lexer (@pgferret/sql)
// decides reaches the exported spans. A traceparent the kernel reads out of
// a literal is no parent; a nested comment at the start neither names the
// span nor shows; literals are masked as the session's
// standard_conforming_strings reads them; errors carry PostgreSQL's condition name. Root sampling is 1, so a
// statement that is not traced still makes a (root) span to look at.
import { Client } from 'pg';
import { isPostgresServerSpan, type SpanRecord } from '../packages/collector/src/embedded/span-record';
import { eventually, type CollectorProcess, type Receiver, startTraced, type Traced } from './helpers/collector';
import type { PgCluster, PgFlavor } from './helpers/postgres';

const hex = (n: number) => Array.from({ length: n }, () => Math.floor(Math.random() * 16).toString(16)).join('');
const SECRET = 'hunter2';

describe.each([
  ['debian', /with usdt probes/],
  ['embedded', /attached to PostgreSQL 18 .* with uprobe probes/],
] as [PgFlavor, RegExp][])('lexer-true spans on %s PostgreSQL', (flavor, attached) => {
  let pg: PgCluster;
  let receiver: Receiver;
  let collector: CollectorProcess;

  let traced: Traced;

  beforeAll(async () => {
    traced = await startTraced(flavor, ['--root-sample-rate', '1']);
    ({ pg, receiver, collector } = traced);
    await collector.waitFor(attached);
  });

  afterAll(async () => {
    await traced?.stop();
  });

  it('a traceparent in no real comment is no parent; a nested head comment goes whole; doubts are masked; errors are named', async () => {
    const c = new Client({ connectionString: pg.connectionString });
    await c.connect();
    const fake = { t: hex(32), s: hex(16) };
    const nested = { t: hex(32), s: hex(16) };
    const error = { t: hex(32), s: hex(16) };
    const tp = (x: { t: string; s: string }) => `traceparent='00-${x.t}-${x.s}-01'`;

    // issue 9: the kernel may take this traceparent out of the dollar quote
    await c.query(`SELECT '/*' AS in_literal, $$${tp(fake)}$$ AS b -- */`);
    await c.query(`/* /* ${tp(nested)} */ password=${SECRET} */ SELECT 1 AS nested`);
    await c.query(`SELECT $é$${SECRET}$é$ AS non_ascii_tag`);
    await c.query('SET standard_conforming_strings = off');
    await c.query(`SELECT 'it\\'s', '${SECRET}' AS scs_off`);
    await c.query('RESET standard_conforming_strings');
    await expect(c.query(`SELECT 1/0 AS fails /*${tp(error)}*/`)).rejects.toThrow(/division by zero/);
    await c.end();

    const server = () => receiver.spans.filter(isPostgresServerSpan);
    const byText = (re: RegExp) => server().find((s) => re.test(String(s.attributes['db.query.text'])));
    await eventually('a span for every statement', () => [/in_literal/, /nested/, /non_ascii_tag/, /scs_off/, /fails/].every((re) => byText(re)));

    const inLiteral = byText(/in_literal/)!;
    expect(inLiteral.attributes['db.query.text']).toBe('SELECT ? AS in_literal, ? AS b');
    expect(inLiteral.traceId).not.toBe(fake.t);
    expect(inLiteral.parentSpanId ?? null).toBeNull();
    expect(['rejected_not_in_comment', 'sampled_root']).toContain(inLiteral.attributes['pgferret.trace_context.origin']);
    expect(server().some((s: SpanRecord) => s.traceId === fake.t)).toBe(false);

    const head = byText(/nested/)!;
    expect(head).toMatchObject({ name: 'SELECT', traceId: nested.t, parentSpanId: nested.s });
    expect(head.attributes['db.query.text']).toBe('SELECT ? AS nested');

    // the $é$ quote is read as PostgreSQL reads it (any byte >= 0x80 in a tag);
    // the scs=off string as the session reads it (the kernel reads its setting in the backend)
    expect(byText(/non_ascii_tag/)!.attributes['db.query.text']).toBe('SELECT ? AS non_ascii_tag');
    expect(byText(/scs_off/)!.attributes['db.query.text']).toBe('SELECT ?, ? AS scs_off');
    const everything = JSON.stringify(server().map((s) => [s.name, s.attributes]));
    expect(everything).not.toContain(SECRET);

    const failed = byText(/fails/)!;
    expect(failed.traceId).toBe(error.t);
    expect(failed.statusCode).toBe(2);
    expect(failed.statusMessage).toBe('division_by_zero (22012): division by zero');
    expect(failed.attributes['db.response.status_code']).toBe('22012');
  });
});
