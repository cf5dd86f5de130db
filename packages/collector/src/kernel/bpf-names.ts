// The maps and programs of the collector's BPF object, generated from the
// compiled object at build time (scripts/gen-bpf-names.js), so a name the
// object lacks does not compile. This module is the name the rest imports.
export * from './bpf-names.generated';
