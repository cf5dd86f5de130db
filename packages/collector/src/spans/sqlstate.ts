// SQLSTATE codes as people read them: `division_by_zero (22012)`.
import { SQLSTATE_NAMES } from './sqlstate-names';

export { SQLSTATE_NAMES };

/** PostgreSQL's condition name of a code (the class's name for a code it does not list), or null. */
export function conditionName(code: string): string | null {
  return SQLSTATE_NAMES[code] ?? SQLSTATE_NAMES[code.slice(0, 2) + '000'] ?? null;
}

/** The error status message of a span: `division_by_zero (22012)`, or `SQLSTATE 22ZZZ` for a code of no known class. */
export function describeSqlstate(code: string): string {
  const name = conditionName(code);
  return name ? `${name} (${code})` : `SQLSTATE ${code}`;
}
