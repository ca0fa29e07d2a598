/** Input validation with AWS-style messages that name the field, for the service's validation error. */
import type { ZodType } from 'zod';
import type { FieldType, RequiredFields } from './service';

export type Validation<I> = { ok: true; value: I } | { ok: false; message: string };

function isZod(spec: unknown): spec is ZodType {
  return typeof (spec as { safeParse?: unknown }).safeParse === 'function';
}

function typeOk(value: unknown, type: FieldType): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number' || (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)));
    case 'boolean':
      return typeof value === 'boolean' || value === 'true' || value === 'false';
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
    case 'array':
      return Array.isArray(value);
    case 'timestamp':
      return typeof value === 'number' || (typeof value === 'string' && !Number.isNaN(Date.parse(value)));
  }
}

function lookup(input: unknown, path: readonly PropertyKey[]): { present: boolean; value: unknown } {
  let node: unknown = input;
  for (const p of path) {
    if (node === null || typeof node !== 'object' || !(p in (node as object))) return { present: false, value: undefined };
    node = (node as Record<PropertyKey, unknown>)[p];
  }
  return { present: node !== undefined && node !== null, value: node };
}

function describePath(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('') || '(input)';
}

export function validateInput<I>(spec: ZodType<I> | RequiredFields | undefined, input: Record<string, unknown>): Validation<I> {
  if (!spec) return { ok: true, value: input as I };
  if (isZod(spec)) {
    const result = spec.safeParse(input);
    if (result.success) return { ok: true, value: result.data as I };
    const issue = result.error.issues[0];
    if (!issue) return { ok: false, message: '1 validation error detected: invalid input' };
    const field = describePath(issue.path);
    const { present } = lookup(input, issue.path);
    if (!present) {
      return { ok: false, message: `1 validation error detected: Value null at '${field}' failed to satisfy constraint: Member must not be null` };
    }
    return { ok: false, message: `1 validation error detected: Value at '${field}' failed to satisfy constraint: ${issue.message}` };
  }
  for (const [field, type] of Object.entries(spec)) {
    const { present, value } = lookup(input, [field]);
    if (!present) {
      return { ok: false, message: `1 validation error detected: Value null at '${field}' failed to satisfy constraint: Member must not be null` };
    }
    if (!typeOk(value, type)) {
      return { ok: false, message: `1 validation error detected: Value at '${field}' failed to satisfy constraint: Member must be of type ${type}` };
    }
  }
  return { ok: true, value: input as I };
}
