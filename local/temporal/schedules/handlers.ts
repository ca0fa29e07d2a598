/** The WorkflowService schedule methods, answered by the server's ScheduleStore. */
import type { Handler } from '../grpc-service';
import type { ScheduleStore } from './store';

export function scheduleServiceHandlers(store: ScheduleStore): Record<string, Handler> {
  const h = <T>(fn: (req: T) => unknown): Handler => fn as unknown as Handler;
  return {
    CreateSchedule: h((req: Parameters<ScheduleStore['create']>[0]) => store.create(req)),
    DescribeSchedule: h((req: Parameters<ScheduleStore['describe']>[0]) => store.describe(req)),
    UpdateSchedule: h((req: Parameters<ScheduleStore['update']>[0]) => store.update(req)),
    PatchSchedule: h((req: Parameters<ScheduleStore['patch']>[0]) => store.patch(req)),
    DeleteSchedule: h((req: Parameters<ScheduleStore['delete']>[0]) => store.delete(req)),
    ListSchedules: h((req: Parameters<ScheduleStore['list']>[0]) => store.list(req)),
    CountSchedules: h((req: Parameters<ScheduleStore['count']>[0]) => store.count(req)),
    ListScheduleMatchingTimes: h((req: Parameters<ScheduleStore['matchingTimes']>[0]) => store.matchingTimes(req)),
  };
}
