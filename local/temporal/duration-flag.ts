/** Reads durations given on the command line: `90` (ms), `500ms`, `10s`, `5m`, `24h`, `7d`. */
export function parseDurationFlag(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/i.exec(text);
  if (!m) throw new Error(`invalid duration '${text}': use a number of milliseconds or a value like 500ms, 10s, 5m, 24h, 7d`);
  const unit = (m[2] ?? 'ms').toLowerCase();
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[unit] ?? 1;
  return Math.round(Number(m[1]) * factor);
}
