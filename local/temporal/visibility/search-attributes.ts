import type { SearchAttributeType } from './types';

export interface EncodedPayload {
  metadata?: Record<string, Uint8Array | Buffer> | null;
  data?: Uint8Array | Buffer | null;
}

export function decodeSearchAttributes(indexedFields: Record<string, EncodedPayload>): Record<string, unknown> {
  void indexedFields;
  throw new Error('not implemented yet');
}

export function searchAttributeTypeFromProto(t: string): SearchAttributeType {
  void t;
  throw new Error('not implemented yet');
}

export function searchAttributeTypeToProto(t: SearchAttributeType): string {
  return `INDEXED_VALUE_TYPE_${t.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase()}`;
}

export function validateSearchAttributes(
  values: Record<string, unknown>,
  registered: ReadonlyMap<string, SearchAttributeType>,
): void {
  void values;
  void registered;
}

export const defaultCustomSearchAttributes: ReadonlyMap<string, SearchAttributeType> = new Map();
