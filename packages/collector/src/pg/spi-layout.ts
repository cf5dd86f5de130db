// INTERIM
export function spiLayout(m: number) {
  return { planMagic: 569278163, planList: 8, listElements: 16, sourceMagic: 195726186, sourceText: m >= 18 ? 24 : 16 };
}
