/**
 * CloudWatch metric math, the part alarms use: arithmetic (+ - * / ^), comparisons (> < >= <= == !=), AND/&&,
 * OR/||, NOT, IF(c, t[, f]), AVG/MAX/MIN/SUM, ABS, METRICS() / METRICS("substring"), numbers and query ids.
 * Semantics as the CloudWatch documentation gives them, per timestamp:
 * - arithmetic and comparisons over two series take the union of their timestamps, a missing point counting as 0;
 *   a division by zero drops the point; a scalar applies to each point of a series;
 * - comparisons and logical operators give 0 or 1;
 * - IF(c, t, f) keeps c's timestamps: where c is true and t lacks the point the output is 0; where c is false and
 *   f is missing or omitted the point is dropped;
 * - AVG/MAX/MIN/SUM of a series give a scalar, of an array of series (METRICS("x")) a series;
 * - METRICS() is every metric query of the request (not expressions), METRICS("s") those whose id contains s.
 */
export type Points = Map<number, number>;
export type MathValue = { kind: 'scalar'; value: number } | { kind: 'series'; points: Points } | { kind: 'array'; items: Points[] };

export class MetricMathError extends Error {}

type Node =
  | { t: 'num'; value: number }
  | { t: 'str'; value: string }
  | { t: 'id'; name: string }
  | { t: 'call'; fn: string; args: Node[] }
  | { t: 'unary'; op: string; arg: Node }
  | { t: 'bin'; op: string; left: Node; right: Node };

const TOKEN = /\s*(?:(\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|("(?:[^"\\]|\\.)*")|([A-Za-z_][A-Za-z0-9_]*)|(>=|<=|==|!=|&&|\|\||[-+*/^()<>,]))/y;

function tokenize(text: string): string[] {
  const out: string[] = [];
  TOKEN.lastIndex = 0;
  let pos = 0;
  while (pos < text.length) {
    if (/^\s*$/.test(text.slice(pos))) break;
    TOKEN.lastIndex = pos;
    const m = TOKEN.exec(text);
    if (!m) throw new MetricMathError(`Syntax error at position ${pos} of the expression "${text}"`);
    out.push((m[1] ?? m[2] ?? m[3] ?? m[4]) as string);
    pos = TOKEN.lastIndex;
  }
  return out;
}

const FUNCTIONS = new Set(['IF', 'AVG', 'MAX', 'MIN', 'SUM', 'ABS', 'METRICS']);

export function parseExpression(text: string): Node {
  const tokens = tokenize(text);
  let i = 0;
  const peek = () => tokens[i];
  const take = (want?: string) => {
    const tok = tokens[i];
    if (tok === undefined || (want !== undefined && tok !== want)) throw new MetricMathError(`Syntax error in "${text}": expected ${want ?? 'more'} at token ${i + 1}`);
    i++;
    return tok;
  };
  const level = (ops: readonly string[], next: () => Node) => (): Node => {
    let left = next();
    while (peek() !== undefined && ops.includes(peek() as string)) {
      const op = take();
      left = { t: 'bin', op: op === 'AND' ? '&&' : op === 'OR' ? '||' : op, left, right: next() };
    }
    return left;
  };
  const primary = (): Node => {
    const tok = take();
    if (tok === '(') {
      const e = or();
      take(')');
      return e;
    }
    if (tok === '-' || tok === 'NOT') return { t: 'unary', op: tok, arg: power() };
    if (/^\d/.test(tok)) return { t: 'num', value: Number(tok) };
    if (tok.startsWith('"')) return { t: 'str', value: JSON.parse(tok) as string };
    if (/^[A-Za-z_]/.test(tok)) {
      if (peek() === '(') {
        if (!FUNCTIONS.has(tok)) throw new MetricMathError(`Unsupported function ${tok} in "${text}"`);
        take('(');
        const args: Node[] = [];
        if (peek() !== ')') {
          args.push(or());
          while (peek() === ',') {
            take(',');
            args.push(or());
          }
        }
        take(')');
        return { t: 'call', fn: tok, args };
      }
      if (!/^[a-z][a-zA-Z0-9_]*$/.test(tok)) throw new MetricMathError(`Invalid id ${tok} in "${text}": ids start with a lower-case letter`);
      return { t: 'id', name: tok };
    }
    throw new MetricMathError(`Syntax error in "${text}" at ${tok}`);
  };
  const power: () => Node = level(['^'], primary);
  const product = level(['*', '/'], power);
  const sum = level(['+', '-'], product);
  const comparison = level(['>', '<', '>=', '<=', '==', '!='], sum);
  const and = level(['AND', '&&'], comparison);
  const or = level(['OR', '||'], and);
  const tree = or();
  if (i !== tokens.length) throw new MetricMathError(`Syntax error in "${text}": unexpected ${tokens[i]}`);
  return tree;
}

/** Ids an expression refers to (METRICS(...) refers to metric queries by substring, resolved by the caller). */
export function referencedIds(node: Node, out = new Set<string>()): Set<string> {
  if (node.t === 'id') out.add(node.name);
  else if (node.t === 'call') for (const a of node.args) referencedIds(a, out);
  else if (node.t === 'unary') referencedIds(node.arg, out);
  else if (node.t === 'bin') {
    referencedIds(node.left, out);
    referencedIds(node.right, out);
  }
  return out;
}

/** METRICS(...) substrings an expression uses. */
export function metricsFilters(node: Node, out: string[] = []): string[] {
  if (node.t === 'call') {
    if (node.fn === 'METRICS') out.push(node.args[0]?.t === 'str' ? node.args[0].value : '');
    for (const a of node.args) metricsFilters(a, out);
  } else if (node.t === 'unary') metricsFilters(node.arg, out);
  else if (node.t === 'bin') {
    metricsFilters(node.left, out);
    metricsFilters(node.right, out);
  }
  return out;
}

const truth = (b: boolean) => (b ? 1 : 0);

function arith(op: string, a: number, b: number): number | undefined {
  switch (op) {
    case '+':
      return a + b;
    case '-':
      return a - b;
    case '*':
      return a * b;
    case '/':
      return b === 0 ? undefined : a / b;
    case '^':
      return a ** b;
    case '>':
      return truth(a > b);
    case '<':
      return truth(a < b);
    case '>=':
      return truth(a >= b);
    case '<=':
      return truth(a <= b);
    case '==':
      return truth(a === b);
    case '!=':
      return truth(a !== b);
    case '&&':
      return truth(a !== 0 && b !== 0);
    case '||':
      return truth(a !== 0 || b !== 0);
  }
  throw new MetricMathError(`unknown operator ${op}`);
}

function sortedUnion(...maps: Points[]): number[] {
  const ts = new Set<number>();
  for (const m of maps) for (const t of m.keys()) ts.add(t);
  return [...ts].sort((a, b) => a - b);
}

function binary(op: string, l: MathValue, r: MathValue): MathValue {
  if (l.kind === 'array') return { kind: 'array', items: l.items.map((p) => asSeries(binary(op, { kind: 'series', points: p }, r))) };
  if (r.kind === 'array') return { kind: 'array', items: r.items.map((p) => asSeries(binary(op, l, { kind: 'series', points: p }))) };
  if (l.kind === 'scalar' && r.kind === 'scalar') {
    const v = arith(op, l.value, r.value);
    return { kind: 'scalar', value: v === undefined ? NaN : v };
  }
  const out: Points = new Map();
  if (l.kind === 'series' && r.kind === 'series') {
    for (const t of sortedUnion(l.points, r.points)) {
      const v = arith(op, l.points.get(t) ?? 0, r.points.get(t) ?? 0);
      if (v !== undefined) out.set(t, v);
    }
    return { kind: 'series', points: out };
  }
  const series = (l.kind === 'series' ? l : r) as { points: Points };
  const scalar = (l.kind === 'scalar' ? l : r) as { value: number };
  for (const [t, x] of series.points) {
    const v = l.kind === 'series' ? arith(op, x, scalar.value) : arith(op, scalar.value, x);
    if (v !== undefined) out.set(t, v);
  }
  return { kind: 'series', points: out };
}

function asSeries(v: MathValue): Points {
  if (v.kind !== 'series') throw new MetricMathError('expected a time series');
  return v.points;
}

function reduce(fn: string, values: number[]): number {
  if (values.length === 0) return NaN;
  switch (fn) {
    case 'AVG':
      return values.reduce((a, b) => a + b, 0) / values.length;
    case 'SUM':
      return values.reduce((a, b) => a + b, 0);
    case 'MAX':
      return Math.max(...values);
    default:
      return Math.min(...values);
  }
}

export interface MathContext {
  /** Results of the other queries by id (metric queries and expressions already evaluated). */
  value(id: string): MathValue | undefined;
  /** Metric (not expression) query results whose id contains `filter`, in request order. */
  metrics(filter: string): Points[];
}

export function evaluate(node: Node, ctx: MathContext): MathValue {
  switch (node.t) {
    case 'num':
      return { kind: 'scalar', value: node.value };
    case 'str':
      throw new MetricMathError('a string is only allowed as the argument of METRICS');
    case 'id': {
      const v = ctx.value(node.name);
      if (!v) throw new MetricMathError(`Unknown id ${node.name} in the expression`);
      return v;
    }
    case 'unary': {
      const v = evaluate(node.arg, ctx);
      return node.op === '-' ? binary('-', { kind: 'scalar', value: 0 }, v) : binary('==', v, { kind: 'scalar', value: 0 });
    }
    case 'bin':
      return binary(node.op, evaluate(node.left, ctx), evaluate(node.right, ctx));
    case 'call':
      return call(node.fn, node.args, ctx);
  }
}

function call(fn: string, args: Node[], ctx: MathContext): MathValue {
  if (fn === 'METRICS') {
    if (args.length > 1 || (args[0] && args[0].t !== 'str')) throw new MetricMathError('METRICS takes at most one string argument');
    return { kind: 'array', items: ctx.metrics(args[0]?.t === 'str' ? args[0].value : '') };
  }
  if (fn === 'IF') {
    if (args.length < 2 || args.length > 3) throw new MetricMathError('IF takes two or three arguments');
    const c = evaluate(args[0] as Node, ctx);
    const t = evaluate(args[1] as Node, ctx);
    const f = args[2] ? evaluate(args[2], ctx) : undefined;
    if (c.kind === 'array' || t.kind === 'array' || f?.kind === 'array') throw new MetricMathError('IF does not take arrays of time series');
    if (c.kind === 'scalar') return c.value !== 0 ? t : (f ?? { kind: 'series', points: new Map() });
    const pick = (v: MathValue | undefined, at: number): number | undefined => (v === undefined ? undefined : v.kind === 'scalar' ? v.value : v.kind === 'series' ? v.points.get(at) : undefined);
    const out: Points = new Map();
    for (const [at, cv] of c.points) {
      if (cv !== 0) out.set(at, pick(t, at) ?? 0);
      else {
        const fv = pick(f, at);
        if (fv !== undefined) out.set(at, fv);
      }
    }
    return { kind: 'series', points: out };
  }
  if (args.length !== 1) throw new MetricMathError(`${fn} takes one argument`);
  const v = evaluate(args[0] as Node, ctx);
  if (fn === 'ABS') {
    if (v.kind === 'scalar') return { kind: 'scalar', value: Math.abs(v.value) };
    if (v.kind === 'series') return { kind: 'series', points: new Map([...v.points].map(([t, x]) => [t, Math.abs(x)])) };
    return { kind: 'array', items: v.items.map((p) => new Map([...p].map(([t, x]) => [t, Math.abs(x)]))) };
  }
  if (v.kind === 'scalar') return v;
  if (v.kind === 'series') return { kind: 'scalar', value: reduce(fn, [...v.points.values()]) };
  const out: Points = new Map();
  for (const t of sortedUnion(...v.items)) {
    const present = v.items.map((p) => p.get(t)).filter((x): x is number => x !== undefined);
    out.set(t, reduce(fn, present));
  }
  return { kind: 'series', points: out };
}
