import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../common/config';

describe('MLOPS_DATASYNC_TASK_CAP', () => {
  it('defaults to 90 and takes a whole number from 1 to 100', () => {
    expect(loadConfig({}).MLOPS_DATASYNC_TASK_CAP).toBe(90);
    expect(loadConfig({ MLOPS_DATASYNC_TASK_CAP: '40' }).MLOPS_DATASYNC_TASK_CAP).toBe(40);
  });
  it('refuses anything else, naming the variable', () => {
    for (const bad of ['0', '101', 'ninety', '-5', '2.5']) {
      expect(() => loadConfig({ MLOPS_DATASYNC_TASK_CAP: bad })).toThrow(ConfigError);
      expect(() => loadConfig({ MLOPS_DATASYNC_TASK_CAP: bad })).toThrow(/MLOPS_DATASYNC_TASK_CAP.*1 to 100/);
    }
  });
});
