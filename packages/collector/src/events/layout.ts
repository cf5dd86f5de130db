// The record layouts, enums and limits of bpf/pgferret.h. They are generated
// from the header at build time (scripts/gen-layout.js), so there is one
// definition; this module is the name the rest of the code imports.
export * from './layout.generated';
