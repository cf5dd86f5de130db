// The SQLSTATE table is PostgreSQL's own: it matches what
// scripts/gen-sqlstate.js reads from the installed errcodes.txt files.
import { conditionName, describeSqlstate, SQLSTATE_NAMES } from '../src/spans/sqlstate';

const { readTable } = require('../scripts/gen-sqlstate.js') as { readTable: () => { table: Record<string, string>; from: string[] } };

test('the checked-in table is what the generator reads (run `npm run -w packages/collector gen:sqlstate` when not)', () => {
  const { table, from } = readTable();
  expect(from).toHaveLength(2);
  expect(SQLSTATE_NAMES).toEqual(table);
  expect(Object.keys(SQLSTATE_NAMES).length).toBeGreaterThan(250);
});

test('condition names', () => {
  expect(describeSqlstate('22012')).toBe('division_by_zero (22012)');
  expect(describeSqlstate('42P07')).toBe('duplicate_table (42P07)');
  expect(describeSqlstate('72000')).toBe('snapshot_too_old (72000)'); // gone from PostgreSQL 17, still named
  expect(conditionName('22ZZZ')).toBe('data_exception'); // unknown code: its class
  expect(describeSqlstate('ZZ999')).toBe('SQLSTATE ZZ999');
});
