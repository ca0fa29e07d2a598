/**
 * Failures a handler raises on purpose. Each maps to the gRPC status the real Temporal server gives, so the SDK turns
 * it into the same error class (WorkflowNotFoundError, WorkflowExecutionAlreadyStartedError, NamespaceNotFoundError...).
 */
import { Metadata, status } from '@grpc/grpc-js';
import { encodeMessage, packAny } from './proto';

export class ServiceError extends Error {
  constructor(
    readonly code: status,
    message: string,
    /** A Temporal errordetails message packed into google.rpc.Status details, when the SDK looks for one. */
    readonly detail?: { typeName: string; value: object },
  ) {
    super(message);
    this.name = 'ServiceError';
  }

  metadata(): Metadata {
    const md = new Metadata();
    const details = this.detail ? [packAny(this.detail.typeName, this.detail.value)] : [];
    md.set('grpc-status-details-bin', encodeMessage('google.rpc.Status', { code: this.code, message: this.message, details }));
    return md;
  }
}

export const invalidArgument = (message: string): ServiceError => new ServiceError(status.INVALID_ARGUMENT, message);

export const notFound = (message: string): ServiceError =>
  new ServiceError(status.NOT_FOUND, message, { typeName: 'temporal.api.errordetails.v1.NotFoundFailure', value: {} });

export const workflowNotFound = (workflowId: string, runId?: string): ServiceError =>
  notFound(runId ? `workflow execution not found for workflow ID "${workflowId}" and run ID "${runId}"` : `workflow execution not found for workflow ID "${workflowId}"`);

export const namespaceNotFound = (namespace: string): ServiceError =>
  new ServiceError(status.NOT_FOUND, `Namespace ${namespace} is not found.`, {
    typeName: 'temporal.api.errordetails.v1.NamespaceNotFoundFailure',
    value: { namespace },
  });

export const alreadyStarted = (workflowId: string, runId: string, startRequestId: string): ServiceError =>
  new ServiceError(status.ALREADY_EXISTS, `Workflow execution is already running. WorkflowId: ${workflowId}, RunId: ${runId}.`, {
    typeName: 'temporal.api.errordetails.v1.WorkflowExecutionAlreadyStartedFailure',
    value: { startRequestId, runId },
  });

export const workflowClosed = (): ServiceError =>
  notFound('workflow execution already completed');

export const taskNotFound = (what: string): ServiceError => notFound(`${what} not found`);

export const resourceExhausted = (message: string, cause: string): ServiceError =>
  new ServiceError(status.RESOURCE_EXHAUSTED, message, {
    typeName: 'temporal.api.errordetails.v1.ResourceExhaustedFailure',
    value: { cause, scope: 'RESOURCE_EXHAUSTED_SCOPE_NAMESPACE' },
  });

/** The operation of an ExecuteMultiOperation that did not fail, when another one did. */
const multiOperationAborted = (): ServiceError =>
  new ServiceError(status.ABORTED, 'Operation was aborted.', { typeName: 'temporal.api.failure.v1.MultiOperationExecutionAborted', value: {} });

/**
 * ExecuteMultiOperation's failure: one status per operation (the failed one as it would fail alone, the others
 * aborted, or OK when it had succeeded), under the code of the first that failed, as the SDK unpacks it.
 */
export function multiOperationFailure(errors: (ServiceError | 'aborted' | 'ok')[]): ServiceError {
  const statuses = errors.map((err) => (err === 'aborted' ? multiOperationAborted() : err));
  const first = statuses.find((s): s is ServiceError => s !== 'ok' && s.code !== status.ABORTED) ?? multiOperationAborted();
  return new ServiceError(first.code, 'Update-with-Start could not be executed.', {
    typeName: 'temporal.api.errordetails.v1.MultiOperationExecutionFailure',
    value: {
      statuses: statuses.map((s) =>
        s === 'ok' ? { code: status.OK, message: '', details: [] } : { code: s.code, message: s.message, details: s.detail ? [packAny(s.detail.typeName, s.detail.value)] : [] },
      ),
    },
  });
}
