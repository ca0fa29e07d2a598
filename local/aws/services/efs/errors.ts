/**
 * An error raised by the shared resource stores (file systems, security groups), with the AWS error code of the
 * service that meets it; each service's handler turns it into `ctx.error(code, message, ...)`.
 */
export class StoreError extends Error {
  override readonly name = 'StoreError';
  constructor(
    readonly code: string,
    message: string,
    readonly httpStatus = 400,
    /** Extra members of the error body (EFS FileSystemAlreadyExists carries the FileSystemId). */
    readonly fields: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
  }
}
