/** Milliseconds for the terminal: "296 ms", "2.4 ms", "0.12 ms". */
export function ms(n: number): string {
  return n >= 100 ? `${n.toFixed(0)} ms` : n >= 1 ? `${n.toFixed(1)} ms` : `${n.toFixed(2)} ms`;
}
