// The executor functions of each plan node, by the names EXPLAIN prints:
// users think in plan nodes, samples land in functions. A sample belongs to
// the innermost frame that names a node (a Seq Scan under a Hash under a
// Hash Join is the scan's); helpers shared by nodes (hash_search, the
// expression interpreter, the regex engine) count for the node that called them.
const EXACT: Record<string, string> = {
  ExecScanHashBucket: 'Hash Join', ExecScanHashTableForUnmatched: 'Hash Join', ExecHashJoinOuterGetTuple: 'Hash Join',
  ExecHashJoinNewBatch: 'Hash Join', ExecHashJoinSaveTuple: 'Hash Join', ExecHashJoinGetSavedTuple: 'Hash Join', ExecPrepHashTableForUnmatched: 'Hash Join',
  MultiExecHash: 'Hash', MultiExecPrivateHash: 'Hash', MultiExecParallelHash: 'Hash', ExecHashTableInsert: 'Hash', ExecHashTableCreate: 'Hash',
  ExecHashIncreaseNumBatches: 'Hash', ExecHashGetHashValue: 'Hash', ExecHashBuildSkewHash: 'Hash', ExecHash: 'Hash',
  SeqNext: 'Seq Scan', heap_getnextslot: 'Seq Scan', heapgettup: 'Seq Scan', heapgettup_pagemode: 'Seq Scan', heapgetpage: 'Seq Scan', heap_prepare_pagescan: 'Seq Scan',
  IndexNext: 'Index Scan', IndexNextWithReorder: 'Index Scan', index_getnext_slot: 'Index Scan', index_fetch_heap: 'Index Scan',
  IndexOnlyNext: 'Index Only Scan', BitmapHeapNext: 'Bitmap Heap Scan', MultiExecBitmapIndexScan: 'Bitmap Index Scan',
  agg_retrieve_direct: 'Aggregate', agg_retrieve_hash_table: 'Aggregate', agg_fill_hash_table: 'Aggregate', lookup_hash_entries: 'Aggregate',
  advance_aggregates: 'Aggregate', ExecAgg: 'Aggregate',
  ExecNestLoop: 'Nested Loop', ExecMergeJoin: 'Merge Join', ExecMaterial: 'Materialize', ExecLimit: 'Limit', ExecResult: 'Result',
  ExecGather: 'Gather', ExecGatherMerge: 'Gather Merge', ExecAppend: 'Append', ExecMergeAppend: 'Merge Append', ExecUnique: 'Unique',
  ExecWindowAgg: 'WindowAgg', ExecIncrementalSort: 'Incremental Sort', ExecMemoize: 'Memoize', ExecFunctionScan: 'Function Scan',
  ExecCteScan: 'CTE Scan', ExecSubqueryScan: 'Subquery Scan', ExecValuesScan: 'Values Scan', ExecProjectSet: 'ProjectSet',
  ExecModifyTable: 'ModifyTable', ExecInsert: 'Insert', ExecUpdate: 'Update', ExecDelete: 'Delete', ExecTidScan: 'Tid Scan',
  ExecHashJoin: 'Hash Join', ExecSeqScan: 'Seq Scan', ExecIndexScan: 'Index Scan', ExecIndexOnlyScan: 'Index Only Scan',
  ExecBitmapHeapScan: 'Bitmap Heap Scan', ExecSort: 'Sort',
};

const PREFIXES: [string, string][] = [
  ['ExecHashJoin', 'Hash Join'], ['ExecParallelHashJoin', 'Hash Join'], ['ExecParallelHash', 'Hash'],
  ['tuplesort_', 'Sort'], ['ExecSort', 'Sort'], ['qsort_tuple', 'Sort'], ['comparetup_', 'Sort'],
  ['ExecSeqScan', 'Seq Scan'], ['ExecIndexScan', 'Index Scan'], ['ExecIndexOnlyScan', 'Index Only Scan'],
  ['ExecAgg', 'Aggregate'], ['ExecBitmapHeapScan', 'Bitmap Heap Scan'],
];

/**
 * Catalog access (a syscache miss while planning, compiling a regex, looking up a type…) scans the
 * catalogs with the same functions as plan nodes do (`systable_getnext` → `index_getnext_slot`): a
 * frame below one of these is no plan node's; the sample counts for the node above it, if any.
 */
export const isCatalogAccess = (fn: string): boolean => fn.startsWith('systable_');

/** ExecScan runs every scan node's fetch and filter: which node it is for comes from the rest of the profile. */
export const GENERIC_SCAN = 'ExecScan';
export const SCAN_NODES = new Set(['Seq Scan', 'Index Scan', 'Index Only Scan', 'Bitmap Heap Scan', 'Tid Scan', 'Function Scan', 'CTE Scan', 'Subquery Scan', 'Values Scan']);

/** The frames every statement has above its plan: not worth a place among the top functions. */
const SPINE = new Set([
  '_start', '__libc_start_main', '__libc_start_call_main', 'main', 'PostmasterMain', 'ServerLoop', 'BackendStartup', 'BackendRun', 'PostgresMain',
  'exec_simple_query', 'exec_execute_message', 'PortalRun', 'PortalRunSelect', 'PortalRunMulti', 'PortalRunUtility', 'ProcessQuery',
  'ExecutorRun', 'standard_ExecutorRun', 'ExecutePlan', 'ExecProcNode', 'ExecProcNodeFirst', 'ExecProcNodeInstr',
]);

/** An unnamed frame ("[postgres]": a static function of a stripped file) or one every statement has. */
export const isSpine = (fn: string) => fn.startsWith('[') || SPINE.has(fn);

export function planNodeOf(fn: string): string | null {
  const exact = EXACT[fn];
  if (exact) return exact;
  for (const [p, node] of PREFIXES) if (fn.startsWith(p)) return node;
  return null;
}
