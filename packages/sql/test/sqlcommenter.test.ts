// The one sqlcommenter encoder and decoder: whatever tags the SDK writes, the
// collector reads back the same, wherever the comment went (start or end).
import { formatComment, parseTags, placeComment, sqlcommenterBody, tagValue } from '../src';
import { prng, Rand } from './edge-sql';

const TRICKY = ["it's", 'a/*b', 'c*/d', '100%', 'é字😀', 'x,y', "k='v'", '\\', ' spaced ', '--', '/', 'traceparent'];

test('1,000 random tag sets survive encoding, placement and decoding', () => {
  let head = 0;
  for (let i = 0; i < 1000; i++) {
    const r = new Rand(prng(0x5c + i));
    const tags: Record<string, string> = {};
    for (let k = 1 + r.int(5); k > 0; k--) tags[`${r.pick(['route', 'app', 'db_driver', 'x-y', 'ké'])}${r.int(3)}`] = r.many(3, () => r.pick(TRICKY)) + r.pick(TRICKY);
    const comment = formatComment(tags);
    // an end the lexer is sure of, or not ('C:\' depends on standard_conforming_strings)
    const sql = r.pick(['SELECT 1', "SELECT 'C:\\' AS p, '--' AS d", 'SELECT $$x$$;']);
    const { sql: out, placement } = placeComment(sql, comment, undefined, formatComment(tags, true));
    if (placement.where === 'none') throw new Error(`no place in ${sql}`);
    if (placement.where === 'head') head++;
    const body = sqlcommenterBody(out, placement.where)!;
    expect(parseTags(body)).toEqual(tags);
    for (const [k, v] of Object.entries(tags)) expect(tagValue(body, k)).toBe(v);
  }
  expect(head).toBeGreaterThan(0);
});

test('readers find the comment with the lexer, not by searching for /*', () => {
  expect(sqlcommenterBody("SELECT '/*route=''x''*/' AS a", 'tail')).toBeNull();
  expect(sqlcommenterBody("SELECT '/*' AS a /*route='%2Fr'*/", 'tail')).toBe("route='%2Fr'");
  expect(tagValue(sqlcommenterBody("/*route='%2Fr'*/ SELECT '*/'", 'head')!, 'route')).toBe('/r');
});
