/**
 * EventBridge event patterns, so the emulator can deliver only what a real rule would: `mlops start` gives it the
 * same pattern the docs tell users to put on their EventBridge rule. Supported: nested fields, value lists,
 * `prefix`, `suffix`, `equals-ignore-case`, `anything-but`, `exists`, `numeric` and `$or`.
 */
export type EventPattern = { [field: string]: EventPattern | Matcher[] | EventPattern[] };
type Literal = string | number | boolean | null;
type Matcher =
  | Literal
  | { prefix: string }
  | { suffix: string }
  | { 'equals-ignore-case': string }
  | { 'anything-but': Literal | Literal[] | { prefix: string } }
  | { exists: boolean }
  | { numeric: (string | number)[] };

export class EventPatternError extends Error {
  override readonly name = 'EventPatternError';
}

/** Checks a pattern's shape once, so a typo in a rule file fails at start-up rather than silently matching nothing. */
export function parseEventPattern(json: string): EventPattern {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (err) {
    throw new EventPatternError(`event pattern is not JSON: ${(err as Error).message}`);
  }
  checkPattern(value, '');
  return value as EventPattern;
}

function checkPattern(value: unknown, path: string): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new EventPatternError(`event pattern${path ? ` at ${path}` : ''} must be an object of fields`);
  }
  for (const [key, v] of Object.entries(value)) {
    const at = path ? `${path}.${key}` : key;
    if (key === '$or') {
      if (!Array.isArray(v) || v.length === 0) throw new EventPatternError(`$or at ${at} must be a non-empty array of patterns`);
      v.forEach((p, i) => checkPattern(p, `${at}[${i}]`));
    } else if (Array.isArray(v)) {
      if (v.length === 0) throw new EventPatternError(`${at} must list at least one value`);
    } else {
      checkPattern(v, at);
    }
  }
}

export function matchesEventPattern(pattern: EventPattern, event: unknown): boolean {
  if (typeof event !== 'object' || event === null) return false;
  const fields = event as Record<string, unknown>;
  return Object.entries(pattern).every(([key, rule]) => {
    if (key === '$or') return (rule as EventPattern[]).some((p) => matchesEventPattern(p, event));
    const value = fields[key];
    if (Array.isArray(rule)) return (rule as Matcher[]).some((m) => matchValue(m, value));
    return matchesEventPattern(rule as EventPattern, value);
  });
}

function matchValue(matcher: Matcher, value: unknown): boolean {
  if (matcher !== null && typeof matcher === 'object' && 'exists' in matcher) return (value !== undefined) === matcher.exists;
  // A rule on an array field matches when any element matches.
  if (Array.isArray(value)) return value.some((v) => matchScalar(matcher, v));
  return matchScalar(matcher, value);
}

function matchScalar(matcher: Matcher, value: unknown): boolean {
  if (matcher === null || typeof matcher !== 'object') return value === matcher;
  if ('prefix' in matcher) return typeof value === 'string' && value.startsWith(matcher.prefix);
  if ('suffix' in matcher) return typeof value === 'string' && value.endsWith(matcher.suffix);
  if ('equals-ignore-case' in matcher) return typeof value === 'string' && value.toLowerCase() === matcher['equals-ignore-case'].toLowerCase();
  if ('anything-but' in matcher) {
    if (value === undefined) return false;
    const but = matcher['anything-but'];
    if (but !== null && typeof but === 'object' && !Array.isArray(but)) return !(typeof value === 'string' && value.startsWith(but.prefix));
    return !(Array.isArray(but) ? but : [but]).includes(value as Literal);
  }
  if ('numeric' in matcher) {
    if (typeof value !== 'number') return false;
    const ops = matcher.numeric;
    for (let i = 0; i + 1 < ops.length; i += 2) {
      const op = ops[i];
      const bound = Number(ops[i + 1]);
      const ok = op === '=' ? value === bound : op === '<' ? value < bound : op === '<=' ? value <= bound : op === '>' ? value > bound : op === '>=' ? value >= bound : false;
      if (!ok) return false;
    }
    return true;
  }
  return false;
}
