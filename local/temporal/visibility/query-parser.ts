import { VisibilityQueryError } from './query-error';
import { syntaxError, tokenize, type Keyword, type Token } from './query-lexer';

export interface ColumnRef {
  name: string;
  pos: number;
}

export type Literal =
  | { kind: 'string'; value: string; pos: number; text: string }
  | { kind: 'number'; value: number; pos: number; text: string }
  | { kind: 'bool'; value: boolean; pos: number; text: string }
  | { kind: 'null'; pos: number; text: string }
  /** A bare word where a value belongs: almost always a forgotten quote, reported when compiled. */
  | { kind: 'identifier'; value: string; pos: number; text: string };

export type ComparisonOperator = '=' | '!=' | '<' | '<=' | '>' | '>=';

export type Expr =
  | { type: 'and'; left: Expr; right: Expr }
  | { type: 'or'; left: Expr; right: Expr }
  | { type: 'not'; expr: Expr }
  | { type: 'compare'; column: ColumnRef; op: ComparisonOperator; value: Literal }
  | { type: 'in'; column: ColumnRef; negated: boolean; values: Literal[] }
  | { type: 'between'; column: ColumnRef; negated: boolean; from: Literal; to: Literal }
  | { type: 'isNull'; column: ColumnRef; negated: boolean }
  | { type: 'startsWith'; column: ColumnRef; negated: boolean; value: Literal }
  | { type: 'like'; column: ColumnRef; negated: boolean; value: Literal };

export interface OrderItem {
  column: ColumnRef;
  descending: boolean;
}

export interface ParsedQuery {
  where: Expr | undefined;
  groupBy: ColumnRef[];
  orderBy: OrderItem[];
}

/**
 * Parses the WHERE-clause-plus-ORDER-BY text that ListWorkflowExecutions accepts.
 * Precedence follows MySQL, whose grammar the real server parses with: OR < AND < NOT < predicate.
 */
export function parseVisibilityQuery(query: string): ParsedQuery {
  return new Parser(tokenize(query)).parseQuery();
}

class Parser {
  private index = 0;

  constructor(private readonly tokens: Token[]) {}

  parseQuery(): ParsedQuery {
    let where: Expr | undefined;
    if (!this.atKeyword('ORDER') && !this.atKeyword('GROUP') && this.peek().kind !== 'end') {
      where = this.parseOr();
    }
    const groupBy: ColumnRef[] = [];
    if (this.acceptKeyword('GROUP')) {
      this.expectKeyword('BY');
      do groupBy.push(this.parseColumn('a search attribute name after GROUP BY'));
      while (this.acceptOperator(','));
    }
    const orderBy: OrderItem[] = [];
    if (this.acceptKeyword('ORDER')) {
      this.expectKeyword('BY');
      do {
        const column = this.parseColumn('a search attribute name after ORDER BY');
        let descending = false;
        if (this.acceptKeyword('DESC')) descending = true;
        else this.acceptKeyword('ASC');
        orderBy.push({ column, descending });
      } while (this.acceptOperator(','));
    }
    if (this.atKeyword('LIMIT')) {
      throw new VisibilityQueryError("invalid query: operation is not supported: 'LIMIT' clause (use the request's page size)");
    }
    const rest = this.peek();
    if (rest.kind !== 'end') {
      throw syntaxError(rest.pos, rest.text, where ? 'AND, OR, ORDER BY or the end of the query' : 'the end of the query');
    }
    return { where, groupBy, orderBy };
  }

  private parseOr(): Expr {
    let left = this.parseAnd();
    while (this.acceptKeyword('OR')) left = { type: 'or', left, right: this.parseAnd() };
    return left;
  }

  private parseAnd(): Expr {
    let left = this.parseNot();
    while (this.acceptKeyword('AND')) left = { type: 'and', left, right: this.parseNot() };
    return left;
  }

  private parseNot(): Expr {
    if (this.acceptKeyword('NOT')) return { type: 'not', expr: this.parseNot() };
    if (this.acceptOperator('(')) {
      const inner = this.parseOr();
      this.expectOperator(')', "')' or AND/OR");
      return inner;
    }
    return this.parsePredicate();
  }

  private parsePredicate(): Expr {
    const column = this.parseColumn('a search attribute name, NOT or (');
    const token = this.peek();
    if (token.kind === 'operator' && ['=', '!=', '<', '<=', '>', '>='].includes(token.value)) {
      this.index++;
      return { type: 'compare', column, op: token.value as ComparisonOperator, value: this.parseValue() };
    }
    if (this.acceptKeyword('IS')) {
      const negated = this.acceptKeyword('NOT');
      this.expectKeyword('NULL');
      return { type: 'isNull', column, negated };
    }
    const negated = this.acceptKeyword('NOT');
    if (this.acceptKeyword('IN')) {
      this.expectOperator('(', "'(' after IN");
      const values = [this.parseValue()];
      while (this.acceptOperator(',')) values.push(this.parseValue());
      this.expectOperator(')', "',' or ')' in the IN list");
      return { type: 'in', column, negated, values };
    }
    if (this.acceptKeyword('BETWEEN')) {
      const from = this.parseValue();
      this.expectKeyword('AND');
      return { type: 'between', column, negated, from, to: this.parseValue() };
    }
    if (this.acceptKeyword('STARTS_WITH')) return { type: 'startsWith', column, negated, value: this.parseValue() };
    if (this.acceptKeyword('LIKE')) return { type: 'like', column, negated, value: this.parseValue() };
    const next = this.peek();
    throw syntaxError(
      next.pos,
      next.text,
      negated ? 'IN, BETWEEN or STARTS_WITH after NOT' : `an operator after '${column.name}' (=, !=, <, <=, >, >=, IN, BETWEEN, STARTS_WITH, IS)`,
    );
  }

  private parseColumn(expected: string): ColumnRef {
    const token = this.peek();
    if (token.kind !== 'identifier') throw syntaxError(token.pos, token.text, expected);
    this.index++;
    return { name: token.value, pos: token.pos };
  }

  private parseValue(): Literal {
    const token = this.peek();
    this.index++;
    switch (token.kind) {
      case 'string':
        return { kind: 'string', value: token.value, pos: token.pos, text: token.text };
      case 'number':
        return { kind: 'number', value: Number(token.value), pos: token.pos, text: token.text };
      case 'identifier':
        return { kind: 'identifier', value: token.value, pos: token.pos, text: token.text };
      case 'keyword':
        if (token.value === 'TRUE' || token.value === 'FALSE') {
          return { kind: 'bool', value: token.value === 'TRUE', pos: token.pos, text: token.text };
        }
        if (token.value === 'NULL') return { kind: 'null', pos: token.pos, text: token.text };
        break;
      case 'operator':
        if (token.value === '-' && this.peek().kind === 'number') {
          const number = this.peek();
          this.index++;
          return { kind: 'number', value: -Number(number.value), pos: token.pos, text: `-${number.text}` };
        }
        break;
    }
    throw syntaxError(token.pos, token.text, 'a value (a quoted string, a number, true or false)');
  }

  private peek(): Token {
    return this.tokens[this.index] as Token;
  }

  private atKeyword(keyword: Keyword): boolean {
    const token = this.peek();
    return token.kind === 'keyword' && token.value === keyword;
  }

  private acceptKeyword(keyword: Keyword): boolean {
    if (!this.atKeyword(keyword)) return false;
    this.index++;
    return true;
  }

  private expectKeyword(keyword: Keyword): void {
    if (!this.acceptKeyword(keyword)) {
      const token = this.peek();
      throw syntaxError(token.pos, token.text, keyword);
    }
  }

  private acceptOperator(operator: string): boolean {
    const token = this.peek();
    if (token.kind !== 'operator' || token.value !== operator) return false;
    this.index++;
    return true;
  }

  private expectOperator(operator: string, expected: string): void {
    if (!this.acceptOperator(operator)) {
      const token = this.peek();
      throw syntaxError(token.pos, token.text, expected);
    }
  }
}
