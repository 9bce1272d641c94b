import { expect } from 'chai';
import { parseDuration, humanDuration, formatDuration } from '../../src/duration.ts';
import { parseQuantity } from '../../src/quantity.ts';

describe('durations and quantities', () => {
  const durations: [string, number | 'error'][] = [
    ['500ms', 500], ['90s', 90_000], ['2m', 120_000], ['1h30m', 5_400_000], ['1.5s', 1500], ['0', 0], ['0s', 0],
    ['5x', 'error'], ['', 'error'], ['-1s', 'error'], ['10', 'error'],
  ];
  for (const [text, want] of durations) {
    it(`the Go duration "${text}" is ${want === 'error' ? 'rejected' : `${want} ms`}`, () => {
      const got = parseDuration(text);
      if (want === 'error') expect(got).to.be.a('string');
      else expect(got).to.equal(want);
    });
  }

  const ages: [number, string][] = [[0, '0s'], [19_000, '19s'], [119_000, '119s'], [144_000, '2m24s'], [600_000, '10m'], [5 * 3_600_000 + 31 * 60_000, '5h31m'], [44 * 3_600_000, '44h'], [3 * 86_400_000, '3d']];
  for (const [ms, want] of ages) it(`kubectl shows an age of ${ms} ms as ${want}`, () => expect(humanDuration(ms)).to.equal(want));

  it('formats durations as Go prints them', () => {
    expect([formatDuration(0), formatDuration(500), formatDuration(90_000), formatDuration(5_400_000)]).to.deep.equal(['0s', '500ms', '1m30s', '1h30m0s']);
  });

  const quantities: [string, number | 'error'][] = [['1Gi', 2 ** 30], ['500Mi', 500 * 2 ** 20], ['10G', 1e10], ['1.5Gi', 1.5 * 2 ** 30], ['100m', 0.1], ['1e3', 1000], ['5000Gi', 5000 * 2 ** 30], ['1GB', 'error'], ['abc', 'error']];
  for (const [text, want] of quantities) {
    it(`the quantity "${text}" is ${want === 'error' ? 'rejected' : want}`, () => {
      const got = parseQuantity(text);
      if (want === 'error') expect(got).to.be.a('string');
      else expect(got).to.equal(want);
    });
  }
});
