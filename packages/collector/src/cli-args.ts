// Parsers for command-line values: a bad value is refused with what is
// allowed, before anything starts (commander prints "error: option ... argument
// ... is invalid. <message>" and exits 1).
import { InvalidArgumentError } from 'commander';

function integer(name: string, v: string, max: number, why: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a non-negative integer`);
  if (n > max) throw new InvalidArgumentError(`${name} must be at most ${max}${why}`);
  return n;
}

/** A non-negative integer up to `max` (`why`: the reason for the bound, appended to the message). */
export function count(name: string, max = Number.MAX_SAFE_INTEGER, why = '') {
  return (v: string) => integer(name, v, max, why);
}

/** A repeatable non-negative integer: each use adds one. */
export function counts(name: string, max = Number.MAX_SAFE_INTEGER) {
  return (v: string, prev: number[] | undefined) => [...(prev ?? []), integer(name, v, max, '')];
}

/** A TCP port to listen on; 0 picks a free one. */
export function port(name: string) {
  return (v: string) => integer(name, v, 65535, ' (0 picks a free port)');
}

export function rate(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !(n >= 0 && n <= 1)) throw new InvalidArgumentError('must be a number between 0 and 1');
  return n;
}

/** A duration in milliseconds (fractions allowed), 0 or more. */
export function msValue(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (v.trim() === '' || !(n >= 0) || !Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a number of milliseconds, 0 or more`);
    return n;
  };
}

/** A nice value, -20 (the most CPU) to 19 (the least). */
export function niceValue(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n) || n < -20 || n > 19) throw new InvalidArgumentError('must be an integer from -20 (the highest priority) to 19 (the lowest)');
  return n;
}

/** A percentage, 0 to 100 (fractions allowed). */
export function percent(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (v.trim() === '' || !(n >= 0 && n <= 100)) throw new InvalidArgumentError(`${name} must be a percentage between 0 and 100`);
    return n;
  };
}
