// The collector as a library: what `pgferret-collector run` does, for
// programs that embed it (the repository's demo, the end-to-end tests).
export { RUN_DEFAULTS, checkPrivileges, startRun, type RunOptions, type Running } from './run';
export type { CollectorStatus, ClusterFilter } from './collector';
export { checkKernel, MIN_KERNEL } from './kernel/requirements';
export { isLoopbackHost } from './embedded/listen';
export { isPostgresServerSpan } from './embedded/span-record';
export type { StoredSpan, TraceDetail, TraceStore, TraceSummary } from './embedded';
export { port as portArgument } from './cli-args';
