/** Value types a search attribute can be registered with (Temporal's IndexedValueType without the prefix). */
export type SearchAttributeType = 'Keyword' | 'Text' | 'Int' | 'Double' | 'Bool' | 'Datetime' | 'KeywordList';

export type VisibilityExecutionStatus =
  | 'Running'
  | 'Completed'
  | 'Failed'
  | 'Canceled'
  | 'Terminated'
  | 'ContinuedAsNew'
  | 'TimedOut';

/**
 * What visibility knows about one workflow run. Times are ms since the epoch; `custom` holds
 * decoded custom search attribute values: string, number, boolean, ms-number for Datetime, string[] for KeywordList.
 */
export interface VisibilityRecord {
  WorkflowId: string;
  RunId: string;
  WorkflowType: string;
  ExecutionStatus: VisibilityExecutionStatus;
  StartTime: number;
  CloseTime?: number;
  ExecutionTime?: number;
  TaskQueue: string;
  custom: Record<string, unknown>;
}
