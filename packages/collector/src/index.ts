// The collector as a library: what `pgferret-collector run` does, for
// programs that embed it (the repository's demo, the end-to-end tests).
export { RUN_DEFAULTS, startRun, type RunOptions, type Running } from './run';
export { checkPrivileges } from './privileges';
export type { CollectorStatus } from './control/collector-control';
export type { ClusterFilter } from './discover/filter';
export { checkKernel, MIN_KERNEL } from './kernel/requirements';
export { isLoopbackHost } from './io/listen';
export { isPostgresServerSpan } from './embedded/span-record';
export { A, ATTRIBUTES } from './spans/attributes';
export type { StoredSpan, TraceDetail, TraceStore, TraceSummary } from './embedded';
export { port as portArgument } from './cli-args';
