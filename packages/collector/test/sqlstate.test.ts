// The SQLSTATE table is PostgreSQL's own: the checked-in table agrees with
// the errcodes.txt files it was generated from, and the table the collector
// uses also names every code of the PostgreSQL installed here (a minor may add
// codes: 15.20 added 22P07), from what scripts/build.sh generated.
import * as fs from 'node:fs';
import { SQLSTATE_NAMES as CHECKED_IN } from '../src/spans/sqlstate-names';
import { conditionName, describeSqlstate, INSTALLED_SQLSTATE_FILE, SQLSTATE_NAMES } from '../src/spans/sqlstate';

const gen = require('../scripts/gen-sqlstate.js') as {
  readTable: () => { table: Record<string, string>; from: string[] };
  readInstalled: () => { names: Record<string, string>; from: string[] };
  INSTALLED_OUTPUT: string;
};

/** Codes both tables name, differently. */
function disagreements(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): string[] {
  return Object.keys(a).filter((code) => code in b && a[code] !== b[code]).map((code) => `${code}: ${a[code]} vs ${b[code]}`);
}

test('the checked-in table names codes as its sources do; a code one of them lacks is a newer or older minor, not an error', () => {
  const { table, from } = gen.readTable();
  expect(from).toHaveLength(2);
  expect(disagreements(CHECKED_IN, table)).toEqual([]);
  const added = Object.keys(table).filter((c) => !(c in CHECKED_IN));
  const gone = Object.keys(CHECKED_IN).filter((c) => !(c in table));
  if (added.length + gone.length > 0) {
    console.log(`installed PostgreSQL vs the checked-in SQLSTATE table: not in the table ${added.join(' ') || '-'}; not installed ${gone.join(' ') || '-'} (run \`npm run -w packages/collector gen:sqlstate\` to refresh it)`);
  }
  expect(Object.keys(CHECKED_IN).length).toBeGreaterThan(250);
});

test('the table in use names every code of the installed PostgreSQL as it does (build/sqlstate-names.json, made by scripts/build.sh)', () => {
  if (!fs.existsSync(INSTALLED_SQLSTATE_FILE)) throw new Error(`${INSTALLED_SQLSTATE_FILE} is missing: run bash scripts/build.sh (it runs gen-sqlstate.js --installed)`);
  expect(INSTALLED_SQLSTATE_FILE).toBe(gen.INSTALLED_OUTPUT);
  const installed = gen.readInstalled();
  expect(installed.from.some((f) => f.startsWith('/usr/share/postgresql/'))).toBe(true);
  const missing = Object.keys(installed.names).filter((c) => SQLSTATE_NAMES[c] !== installed.names[c]);
  expect(missing).toEqual([]);
  // the checked-in table stays the fallback: nothing it names is lost
  expect(Object.keys(CHECKED_IN).filter((c) => !(c in SQLSTATE_NAMES))).toEqual([]);
});

test('condition names', () => {
  expect(describeSqlstate('22012')).toBe('division_by_zero (22012)');
  expect(describeSqlstate('42P07')).toBe('duplicate_table (42P07)');
  expect(describeSqlstate('72000')).toBe('snapshot_too_old (72000)'); // gone from PostgreSQL 17, still named
  expect(conditionName('22ZZZ')).toBe('data_exception'); // unknown code: its class
  expect(describeSqlstate('ZZ999')).toBe('SQLSTATE ZZ999');
});
