// The record layouts, enums and limits of bpf/pgferret.h. They are generated
// from the header at build time (scripts/gen-layout.js), so there is one
// definition; this module is the name the rest of the code imports.
// `export =` hands over the generated module's exports object itself: an
// `export *` compiles to a getter per name, called on every field read of
// every record (5 % of the collector's self time in a V8 profile under load).
import * as generated from './layout.generated';
export = generated;
