// Where the text of an SPI plan is, per major (x86-64): SPIPlanPtr →
// _SPI_plan.plancache_list → List.elements[i] → CachedPlanSource.query_string.
// The magics tell a plan pointer from garbage before following it.
//
// Sources: executor/spi_priv.h, nodes/pg_list.h, utils/plancache.h of the same
// trees as usage-layout.ts (13.1, 14.13, 15.15, 16.2, 17.4, 18.3), offsets from
// gcc against them. Checked in the binaries (13.23, 14.23, 15.20, 16.14, 17.10,
// 18.4): SPI_plan_get_plan_sources() is `mov 0x8(%rdi),%rax`; _SPI_PLAN_MAGIC
// is stored at offset 0; CreateCachedPlan() called in each binary returned a
// CachedPlanSource with CACHEDPLANSOURCE_MAGIC at 0 and the text at
// query_string's offset.

export interface SpiLayout {
  /** _SPI_plan.magic (offset 0) must equal this */
  spiPlanMagic: number;
  /** offsetof(_SPI_plan, plancache_list): a List * of CachedPlanSource * */
  plancacheList: number;
  /** offsetof(List, length): int */
  listLength: number;
  /** offsetof(List, elements): ListCell *, one pointer-sized cell per element (the PG 13+ array List) */
  listElements: number;
  listCellSize: number;
  /** CachedPlanSource.magic (offset 0) must equal this */
  cachedPlanSourceMagic: number;
  /** offsetof(CachedPlanSource, query_string): const char * */
  queryString: number;
}

const SPI_13: SpiLayout = {
  spiPlanMagic: 569278163,
  plancacheList: 8,
  listLength: 4,
  listElements: 16,
  listCellSize: 8,
  cachedPlanSourceMagic: 195726186,
  queryString: 16,
};

const SPI: Readonly<Record<number, SpiLayout>> = {
  13: SPI_13,
  14: SPI_13,
  15: SPI_13,
  16: SPI_13,
  17: SPI_13,
  // 18 added analyzed_parse_tree before query_string
  18: { ...SPI_13, queryString: 24 },
};

export function spiLayout(major: number): SpiLayout | null {
  return SPI[major] ?? null;
}
