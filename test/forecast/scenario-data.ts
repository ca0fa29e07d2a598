/**
 * The example data of the scenarios: a first extract, newer calm data (a better challenger), newer noisy data (a worse
 * one). Apart from scenarios.ts so that the history recorder, which runs outside vitest, uses it too.
 */
export const DATA = {
  first: { key: 'raw/sales/2026-04-30.csv', sales: { items: 6, stores: 2, start: '2026-01-01', days: 120, noise: 3 } },
  calmer: { key: 'raw/sales/2026-05-21.csv', sales: { items: 6, stores: 2, start: '2026-05-01', days: 21, noise: 1 } },
  noisier: { key: 'raw/sales/2026-06-11.csv', sales: { items: 6, stores: 2, start: '2026-05-22', days: 21, noise: 6 } },
};
