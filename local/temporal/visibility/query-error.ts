/**
 * A visibility query the language rejects: syntax, unknown attribute, type mismatch, unsupported operator.
 * The message is complete and user-facing; the server sends it as the details of gRPC INVALID_ARGUMENT.
 */
export class VisibilityQueryError extends Error {
  override name = 'VisibilityQueryError';
}
