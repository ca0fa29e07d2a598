/** Opaque page tokens for list operations: the token names the position of the next item in a stable order. */

export interface Page<T> {
  items: T[];
  next?: string;
}

export function pageToken(position: number): string {
  return Buffer.from(`p${position}`, 'utf8').toString('base64url');
}

/** The position a token names, or undefined when the token is not one of ours. */
export function tokenPosition(token: string): number | undefined {
  const text = Buffer.from(token, 'base64url').toString('utf8');
  const m = /^p(\d+)$/.exec(text);
  return m ? Number(m[1]) : undefined;
}

/** One page of `all`, starting where `token` says; throws `invalidToken()` for a token that is not ours. */
export function paginate<T>(all: readonly T[], token: string | undefined, max: number, invalidToken: () => Error): Page<T> {
  const start = token === undefined || token === '' ? 0 : tokenPosition(token);
  if (start === undefined || start > all.length) throw invalidToken();
  const items = all.slice(start, start + max);
  const end = start + items.length;
  return end < all.length ? { items, next: pageToken(end) } : { items };
}
