// SPI plan text offsets per major: gcc's offsetof() against each major's headers.
import { spiLayout } from '../src/pg/spi-layout';

test('13 to 17: query_string right after magic and raw_parse_tree', () => {
  for (const m of [13, 14, 15, 16, 17]) {
    expect(spiLayout(m)).toEqual({
      spiPlanMagic: 569278163,
      plancacheList: 8,
      listLength: 4,
      listElements: 16,
      listCellSize: 8,
      cachedPlanSourceMagic: 195726186,
      queryString: 16,
    });
  }
});

test('18: analyzed_parse_tree moved query_string to 24', () => {
  expect(spiLayout(18)).toMatchObject({ plancacheList: 8, listElements: 16, cachedPlanSourceMagic: 195726186, queryString: 24 });
});

test('other majors: not known', () => {
  expect(spiLayout(12)).toBeNull();
  expect(spiLayout(19)).toBeNull();
});
