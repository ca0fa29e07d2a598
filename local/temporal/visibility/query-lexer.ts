import { VisibilityQueryError } from './query-error';

/** Words with a meaning in the visibility language; matched case-insensitively, backquote a column to use one as a name. */
const KEYWORDS = [
  'AND',
  'OR',
  'NOT',
  'IN',
  'BETWEEN',
  'IS',
  'NULL',
  'TRUE',
  'FALSE',
  'ORDER',
  'GROUP',
  'BY',
  'ASC',
  'DESC',
  'LIMIT',
  'LIKE',
  'STARTS_WITH',
] as const;
export type Keyword = (typeof KEYWORDS)[number];
const keywordSet: ReadonlySet<string> = new Set(KEYWORDS);

export type Token =
  | { kind: 'keyword'; value: Keyword; pos: number; text: string }
  | { kind: 'identifier'; value: string; pos: number; text: string }
  | { kind: 'string'; value: string; pos: number; text: string }
  | { kind: 'number'; value: string; pos: number; text: string }
  | { kind: 'operator'; value: '=' | '!=' | '<' | '<=' | '>' | '>=' | '(' | ')' | ',' | '-'; pos: number; text: string }
  | { kind: 'end'; value: ''; pos: number; text: '' };

export function syntaxError(pos: number, near: string, expected: string): VisibilityQueryError {
  const where = near === '' ? 'at end of query' : `at position ${pos} near '${near}'`;
  return new VisibilityQueryError(`invalid query: malformed SQL query: syntax error ${where}: expected ${expected}`);
}

// Backslash escapes as MySQL (and so the server's SQL parser) reads them inside quoted strings.
const ESCAPES: Readonly<Record<string, string>> = { n: '\n', t: '\t', r: '\r', b: '\b', '0': '\0', Z: '\x1a' };

/** Splits a query into tokens; `pos` is the 1-based character position, used in error messages. */
export function tokenize(query: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < query.length) {
    const ch = query[i] as string;
    const pos = i + 1;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    if (ch === "'" || ch === '"') {
      const { value, end } = readQuoted(query, i, ch, true);
      tokens.push({ kind: 'string', value, pos, text: query.slice(i, end) });
      i = end;
      continue;
    }
    if (ch === '`') {
      const { value, end } = readQuoted(query, i, '`', false);
      if (value === '') throw syntaxError(pos, '``', 'a non-empty quoted column name');
      tokens.push({ kind: 'identifier', value, pos, text: query.slice(i, end) });
      i = end;
      continue;
    }
    const number = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/.exec(query.slice(i));
    if (number) {
      const after = query[i + number[0].length];
      if (after !== undefined && /[A-Za-z_]/.test(after)) {
        throw syntaxError(pos, query.slice(i, i + number[0].length + 1), 'a number or a name that starts with a letter');
      }
      tokens.push({ kind: 'number', value: number[0], pos, text: number[0] });
      i += number[0].length;
      continue;
    }
    const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(query.slice(i));
    if (word) {
      const upper = word[0].toUpperCase();
      if (keywordSet.has(upper)) tokens.push({ kind: 'keyword', value: upper as Keyword, pos, text: word[0] });
      else tokens.push({ kind: 'identifier', value: word[0], pos, text: word[0] });
      i += word[0].length;
      continue;
    }
    const two = query.slice(i, i + 2);
    if (two === '!=' || two === '<>' || two === '<=' || two === '>=') {
      tokens.push({ kind: 'operator', value: two === '<>' ? '!=' : two, pos, text: two });
      i += 2;
      continue;
    }
    if (ch === '=' || ch === '<' || ch === '>' || ch === '(' || ch === ')' || ch === ',' || ch === '-') {
      tokens.push({ kind: 'operator', value: ch, pos, text: ch });
      i++;
      continue;
    }
    throw syntaxError(pos, ch, 'a search attribute name, a value or an operator');
  }
  tokens.push({ kind: 'end', value: '', pos: query.length + 1, text: '' });
  return tokens;
}

function readQuoted(query: string, start: number, quote: string, backslashEscapes: boolean): { value: string; end: number } {
  let value = '';
  let i = start + 1;
  while (i < query.length) {
    const ch = query[i] as string;
    if (backslashEscapes && ch === '\\' && i + 1 < query.length) {
      const next = query[i + 1] as string;
      value += ESCAPES[next] ?? next;
      i += 2;
      continue;
    }
    if (ch === quote) {
      // A doubled quote stands for one quote character.
      if (query[i + 1] === quote) {
        value += quote;
        i += 2;
        continue;
      }
      return { value, end: i + 1 };
    }
    value += ch;
    i++;
  }
  throw syntaxError(start + 1, query.slice(start, start + 20), `a closing ${quote}`);
}
