// Query-string parameters of the UI's JSON API, checked with a message that
// says what was wrong and what is accepted.
import type { TimeRange } from './query-stats';

export class BadRequest extends Error {}

export function numberParam(params: URLSearchParams, name: string): number | undefined {
  const raw = params.get(name);
  if (raw === null || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new BadRequest(`${name} must be a non-negative number, got "${raw}"`);
  return n;
}

export function booleanParam(params: URLSearchParams, name: string): boolean | undefined {
  const raw = params.get(name);
  if (!raw) return undefined;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new BadRequest(`${name} must be true or false, got "${raw}"`);
}

export function choiceParam<T extends string>(params: URLSearchParams, name: string, choices: readonly T[]): T | undefined {
  const raw = params.get(name);
  if (!raw) return undefined;
  if (!(choices as readonly string[]).includes(raw)) throw new BadRequest(`${name} must be one of ${choices.join(', ')}, got "${raw}"`);
  return raw as T;
}

export function integerParam(params: URLSearchParams, name: string, min: number, max: number): number | undefined {
  const n = numberParam(params, name);
  if (n !== undefined && (!Number.isInteger(n) || n < min || n > max)) {
    throw new BadRequest(`${name} must be an integer from ${min} to ${max}, got "${params.get(name)}"`);
  }
  return n;
}

/** from / to: milliseconds since the epoch (what Date.now() gives). */
export function rangeParams(params: URLSearchParams): TimeRange {
  const fromMs = numberParam(params, 'from');
  const toMs = numberParam(params, 'to');
  if (fromMs !== undefined && toMs !== undefined && fromMs >= toMs) {
    throw new BadRequest(`from (${fromMs}) must be before to (${toMs}); both are milliseconds since the epoch`);
  }
  return { fromMs, toMs };
}
