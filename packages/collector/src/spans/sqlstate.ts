// SQLSTATE codes as people read them: `division_by_zero (22012)`.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SQLSTATE_NAMES as CHECKED_IN } from './sqlstate-names';

/** Written at build time from the errcodes.txt installed there (scripts/gen-sqlstate.js --installed). */
export const INSTALLED_SQLSTATE_FILE = path.join(__dirname, '..', '..', 'build', 'sqlstate-names.json');

function installedNames(): Record<string, string> {
  try {
    return (JSON.parse(fs.readFileSync(INSTALLED_SQLSTATE_FILE, 'utf8')) as { names: Record<string, string> }).names;
  } catch {
    return {}; // not built here: the checked-in table alone
  }
}

/** The checked-in table, with the codes a newer minor installed at build time added (22P07 in 15.20). */
export const SQLSTATE_NAMES: Readonly<Record<string, string>> = { ...CHECKED_IN, ...installedNames() };

/** PostgreSQL's condition name of a code (the class's name for a code it does not list), or null. */
export function conditionName(code: string): string | null {
  return SQLSTATE_NAMES[code] ?? SQLSTATE_NAMES[code.slice(0, 2) + '000'] ?? null;
}

/** The error status message of a span: `division_by_zero (22012)`, or `SQLSTATE 22ZZZ` for a code of no known class. */
export function describeSqlstate(code: string): string {
  const name = conditionName(code);
  return name ? `${name} (${code})` : `SQLSTATE ${code}`;
}
