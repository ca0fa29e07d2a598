import { describe, expect, it } from 'vitest';
import { classifyAwsError } from '../../activities/recovery/aws-errors';
import { NON_RETRYABLE_FAILURES, RecoveryFailure } from '../../workflows/recovery/failures';

/** An error as the AWS SDK v3 raises it: the exception name, the message, the HTTP status. */
function sdkError(name: string, message: string, httpStatusCode: number): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode } });
}

const retried = (type: string) => !(NON_RETRYABLE_FAILURES as string[]).includes(type);

describe('AWS errors as recovery failures', () => {
  it.each([
    ['ThrottlingException', 'Rate exceeded', 400, undefined, RecoveryFailure.Throttled],
    ['InternalException', 'internal', 500, undefined, RecoveryFailure.AwsUnavailable],
    ['InvalidRequestException', 'You have reached the quota of tasks', 400, undefined, RecoveryFailure.QuotaExceeded],
    ['AccessDeniedException', 'not authorized to perform datasync:CreateTask', 400, undefined, RecoveryFailure.AccessDenied],
    ['UnknownOperationException', 'the emulator does not implement datasync.UpdateTask', 501, undefined, RecoveryFailure.InvalidRequest],
    ['InvalidGroupId.Malformed', 'Invalid id: "sg-x"', 400, RecoveryFailure.SecurityGroupNotFound, RecoveryFailure.SecurityGroupNotFound],
    ['InvalidPermission.Malformed', 'bad port range', 400, undefined, RecoveryFailure.InvalidRequest],
    ['InvalidRequestException', 'Security group sg-0123456789abcdef0 does not exist', 400, RecoveryFailure.FileSystemNotFound, RecoveryFailure.SecurityGroupNotFound],
    ['InvalidRequestException', 'File system fs-0123 not found', 400, RecoveryFailure.FileSystemNotFound, RecoveryFailure.FileSystemNotFound],
    ['ResourceNotFound', 'Cannot find domain d-x', 400, RecoveryFailure.DomainNotFound, RecoveryFailure.DomainNotFound],
  ] as const)('%s (%s) becomes %s', (name, message, status, notFound, type) => {
    const f = classifyAwsError(sdkError(name, message, status), 'Call', notFound);
    expect(f.type).toBe(type);
    expect(f.message).toContain(message);
  });

  it('retries what a later attempt can fix and gives up on what it cannot', () => {
    expect(retried(classifyAwsError(sdkError('ThrottlingException', 'slow down', 400), 'Call').type!)).toBe(true);
    expect(retried(classifyAwsError(sdkError('ServiceUnavailable', 'try later', 503), 'Call').type!)).toBe(true);
    expect(retried(classifyAwsError(sdkError('UnknownOperationException', 'not emulated', 501), 'Call').type!)).toBe(false);
    expect(retried(classifyAwsError(sdkError('ValidationException', 'bad name', 400), 'Call').type!)).toBe(false);
  });
});
