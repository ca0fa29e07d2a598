/**
 * The forecasting model behind the emulated Amazon Forecast and SageMaker AutoML: per item, (S)ARIMA models fitted by
 * the `arima` package (a WebAssembly build of the ctsa C library), chosen by a backtest on the last window, with
 * quantiles from the model's forecast variance. The accuracy metrics are those of the backtest (as Forecast
 * computes them), so new data really changes a predictor's accuracy.
 */
import { dirname, join } from 'node:path';
import type ARIMAType from 'arima';

/**
 * The arima package's own synchronous loader, built with its C library's console output silenced (the default
 * module prints convergence notes such as "non-stationary AR part" to stdout). Same files as `require('arima')`.
 */
function loadArima(): typeof ARIMAType {
  const root = dirname(require.resolve('arima'));
  const createModule = require(join(root, 'wasm/native-sync.js')) as (opts: Record<string, unknown>) => unknown;
  const wasmBinary = require(join(root, 'wrapper/native.bin.js')) as unknown;
  const load = require(join(root, 'load.js')) as (module: unknown) => typeof ARIMAType;
  return load(createModule({ wasmBinary, print: () => undefined, printErr: () => undefined }));
}

const ARIMA = loadArima();

/** The candidates an auto predictor tries; the one best on the backtest (by the optimization metric) is kept. */
export const ALGORITHMS = {
  ARIMA: { p: 1, d: 1, q: 1 },
  SARIMA: { p: 1, d: 0, q: 1, P: 0, D: 1, Q: 1 },
} as const;
export type Algorithm = keyof typeof ALGORITHMS;

export type OptimizationMetric = 'WAPE' | 'RMSE' | 'AverageWeightedQuantileLoss' | 'MASE' | 'MAPE';

export interface AccuracyMetrics {
  RMSE: number;
  WAPE: number;
  MAPE: number;
  MASE: number;
  /** By quantile (0.1, 0.5, 0.9, ...). */
  WeightedQuantileLosses: { Quantile: number; LossValue: number }[];
  AverageWeightedQuantileLoss: number;
}

export interface Backtest {
  algorithm: Algorithm;
  metrics: AccuracyMetrics;
  /** Indexes into the time axis of the test window (inclusive start, exclusive end). */
  testStart: number;
  testEnd: number;
  itemCount: number;
  /** Every candidate's metrics, for the record. */
  candidates: { algorithm: Algorithm; metrics: AccuracyMetrics }[];
}

/** Lower is better for every metric here. */
export function metricValue(m: AccuracyMetrics, metric: OptimizationMetric): number {
  return metric === 'AverageWeightedQuantileLoss' ? m.AverageWeightedQuantileLoss : m[metric];
}

/** The inverse standard normal CDF (Acklam's rational approximation, |error| < 1.2e-9): quantiles from the variance. */
export function normalQuantile(p: number): number {
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const [a0, a1, a2, a3, a4, a5] = a as [number, number, number, number, number, number];
  const [b0, b1, b2, b3, b4] = b as [number, number, number, number, number];
  const [c0, c1, c2, c3, c4, c5] = c as [number, number, number, number, number, number];
  const [d0, d1, d2, d3] = d as [number, number, number, number];
  const low = 0.02425;
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) / ((((d0 * q + d1) * q + d2) * q + d3) * q + 1);
  }
  if (p > 1 - low) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return ((((((a0 * r + a1) * r + a2) * r + a3) * r + a4) * r + a5) * q) / (((((b0 * r + b1) * r + b2) * r + b3) * r + b4) * r + 1);
}

export interface SeriesForecast {
  mean: number[];
  /** By quantile, non-negative (demand). */
  quantiles: Map<number, number[]>;
}

/** Fits one algorithm to one series and forecasts `horizon` steps with the given quantiles. */
export function fitAndForecast(values: readonly number[], horizon: number, algorithm: Algorithm, quantiles: readonly number[], season: number): SeriesForecast {
  const flat = values.every((v) => v === values[0]);
  let mean: number[];
  let variance: number[];
  if (flat || values.length < 8) {
    // Nothing to fit (constant or too short): the last value, with the series' spread.
    const last = values[values.length - 1] ?? 0;
    const sd = spread(values);
    mean = Array.from({ length: horizon }, () => last);
    variance = Array.from({ length: horizon }, () => sd * sd);
  } else {
    const seasonal = algorithm === 'SARIMA' && values.length >= 3 * season;
    const order = seasonal ? { ...ALGORITHMS.SARIMA, s: season } : ALGORITHMS.ARIMA;
    const model = new ARIMA({ ...order, verbose: false }).train([...values]);
    try {
      [mean, variance] = model.predict(horizon);
    } finally {
      model.destroy();
    }
    if (!mean.every(Number.isFinite) || !variance.every(Number.isFinite)) {
      // The optimiser diverged on this series: the seasonal naive forecast (last season repeated), with its spread.
      const sd = spread(values);
      const period = Math.min(season, values.length);
      mean = Array.from({ length: horizon }, (_, i) => values[values.length - period + (i % period)] ?? 0);
      variance = Array.from({ length: horizon }, () => sd * sd);
    }
  }
  const out = new Map<number, number[]>();
  for (const q of quantiles) {
    const z = normalQuantile(q);
    out.set(
      q,
      mean.map((m, i) => clean(Math.max(0, m + z * Math.sqrt(Math.max(variance[i] ?? 0, 0))))),
    );
  }
  return { mean: mean.map((m) => clean(Math.max(0, m))), quantiles: out };
}

function clean(n: number): number {
  return Number.isFinite(n) ? n : 0;
}

function spread(values: readonly number[]): number {
  if (values.length < 2) return 0;
  const m = values.reduce((s, v) => s + v, 0) / values.length;
  return Math.sqrt(values.reduce((s, v) => s + (v - m) ** 2, 0) / (values.length - 1));
}

/** Forecast's accuracy metrics of forecasts against actuals, over every item of the window. */
export function accuracy(
  windows: { actual: readonly number[]; forecast: SeriesForecast; history: readonly number[] }[],
  quantiles: readonly number[],
  season: number,
): AccuracyMetrics {
  let squared = 0;
  let points = 0;
  let absError = 0;
  let absActual = 0;
  let apeSum = 0;
  let apeCount = 0;
  const mases: number[] = [];
  const qLoss = new Map<number, number>(quantiles.map((q) => [q, 0]));
  for (const w of windows) {
    let itemAbs = 0;
    w.actual.forEach((a, i) => {
      const f = w.forecast.mean[i] ?? 0;
      squared += (a - f) ** 2;
      absError += Math.abs(a - f);
      itemAbs += Math.abs(a - f);
      absActual += Math.abs(a);
      points++;
      if (a !== 0) {
        apeSum += Math.abs(a - f) / Math.abs(a);
        apeCount++;
      }
      for (const q of quantiles) {
        const v = w.forecast.quantiles.get(q)?.[i] ?? f;
        qLoss.set(q, (qLoss.get(q) ?? 0) + q * Math.max(a - v, 0) + (1 - q) * Math.max(v - a, 0));
      }
    });
    // MASE: the window's mean absolute error over the in-sample seasonal naive error.
    const m = w.history.length > season ? season : 1;
    let naive = 0;
    for (let t = m; t < w.history.length; t++) naive += Math.abs((w.history[t] ?? 0) - (w.history[t - m] ?? 0));
    const scale = w.history.length > m ? naive / (w.history.length - m) : 0;
    if (scale > 0 && w.actual.length > 0) mases.push(itemAbs / w.actual.length / scale);
  }
  const denominator = absActual > 0 ? absActual : 1;
  const WeightedQuantileLosses = quantiles.map((q) => ({ Quantile: q, LossValue: round((2 * (qLoss.get(q) ?? 0)) / denominator) }));
  return {
    RMSE: round(Math.sqrt(squared / Math.max(points, 1))),
    WAPE: round(absError / denominator),
    MAPE: round(apeCount > 0 ? apeSum / apeCount : 0),
    MASE: round(mases.length > 0 ? mases.reduce((s, v) => s + v, 0) / mases.length : 0),
    WeightedQuantileLosses,
    AverageWeightedQuantileLoss: round(WeightedQuantileLosses.reduce((s, l) => s + l.LossValue, 0) / Math.max(WeightedQuantileLosses.length, 1)),
  };
}

function round(n: number): number {
  return Math.round(n * 1e6) / 1e6;
}

/**
 * Backtests every candidate on the last `horizon` steps of every series (fitted on what comes before) and keeps
 * the best by the optimization metric.
 */
export function backtest(series: readonly (readonly number[])[], horizon: number, quantiles: readonly number[], metric: OptimizationMetric, season: number): Backtest {
  const length = Math.max(0, ...series.map((s) => s.length));
  const testStart = length - horizon;
  const candidates = (Object.keys(ALGORITHMS) as Algorithm[]).map((algorithm) => {
    const windows = series.map((values) => {
      const history = values.slice(0, values.length - horizon);
      return { actual: values.slice(values.length - horizon), history, forecast: fitAndForecast(history, horizon, algorithm, quantiles, season) };
    });
    return { algorithm, metrics: accuracy(windows, quantiles, season) };
  });
  const best = candidates.reduce((a, b) => (metricValue(b.metrics, metric) < metricValue(a.metrics, metric) ? b : a));
  return { algorithm: best.algorithm, metrics: best.metrics, testStart, testEnd: length, itemCount: series.length, candidates };
}

/** The seasonal period of a frequency: weekly for daily data, daily for hourly, yearly for monthly. */
export function seasonOf(frequency: string): number {
  if (/^(\d*)D$/.test(frequency)) return 7;
  if (/^(\d*)H$/.test(frequency)) return 24;
  if (/^(\d*)W$/.test(frequency)) return 52;
  if (/^(\d*)M$/.test(frequency)) return 12;
  if (/^(\d*)(min|T)$/.test(frequency)) return 60;
  return 1;
}

/** The step of a frequency in milliseconds (months as 30 days, years as 365), for forecast dates. */
export function stepMs(frequency: string): number {
  const m = /^(\d*)(Y|M|W|D|H|min|T)$/.exec(frequency);
  const n = Number(m?.[1] || 1);
  const unit = m?.[2] ?? 'D';
  const ms = { Y: 365 * 86_400_000, M: 30 * 86_400_000, W: 7 * 86_400_000, D: 86_400_000, H: 3_600_000, min: 60_000, T: 60_000 }[unit] ?? 86_400_000;
  return n * ms;
}
