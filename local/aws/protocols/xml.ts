/** XML for restXml (S3), awsQuery (SNS) and ec2Query (EC2) replies, and parsing of XML request bodies. */
import { XMLParser } from 'fast-xml-parser';
import { XmlMap } from '../service';

export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] as string);
}

/**
 * Serialises a value as the children of an element. Arrays repeat `listItem` elements (`member` for awsQuery,
 * `item` for ec2Query); `flat` arrays (S3 `Contents`) repeat the parent element itself instead.
 */
export function xmlChildren(value: unknown, listItem: string): string {
  if (value === undefined || value === null) return '';
  if (value instanceof Date) return value.toISOString();
  if (value instanceof XmlMap) {
    return Object.entries(value.entries)
      .map(([k, v]) => `<entry><key>${escapeXml(k)}</key><value>${xmlChildren(v, listItem)}</value></entry>`)
      .join('');
  }
  if (Array.isArray(value)) return value.map((v) => `<${listItem}>${xmlChildren(v, listItem)}</${listItem}>`).join('');
  if (typeof value === 'object') {
    let out = '';
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) out += xmlElement(k, v, listItem);
    return out;
  }
  return escapeXml(String(value));
}

export function xmlElement(name: string, value: unknown, listItem: string): string {
  if (value === undefined) return '';
  if (value instanceof FlatList) return value.items.map((v) => `<${name}>${xmlChildren(v, listItem)}</${name}>`).join('');
  return `<${name}>${xmlChildren(value, listItem)}</${name}>`;
}

/** An S3-style flattened list: `{ Contents: flat([...]) }` gives `<Contents>..</Contents><Contents>..</Contents>`. */
export class FlatList {
  constructor(readonly items: readonly unknown[]) {}
}

export function flat(items: readonly unknown[]): FlatList {
  return new FlatList(items);
}

export function xmlDocument(root: string, value: unknown, options: { namespace?: string; listItem?: string } = {}): string {
  const ns = options.namespace ? ` xmlns="${options.namespace}"` : '';
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${root}${ns}>${xmlChildren(value, options.listItem ?? 'member')}</${root}>`;
}

const parser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  trimValues: false,
  ignoreDeclaration: true,
  removeNSPrefix: true,
});

/** Parses an XML request body into plain objects (text values stay strings; repeated elements become arrays). */
export function parseXml(body: Buffer | string): Record<string, unknown> {
  const text = typeof body === 'string' ? body : body.toString('utf8');
  if (text.trim() === '') return {};
  return parser.parse(text) as Record<string, unknown>;
}

/** A repeated XML element parsed as one object or as an array: always an array. */
export function asArray<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}
