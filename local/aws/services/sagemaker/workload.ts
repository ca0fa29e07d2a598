/**
 * The simulated workload of an emulated processing job, declared in its `Environment` (each value at most 256
 * characters, as SageMaker allows), so anyone can model their own job:
 *
 *   SIM_DATA_GIB=200                        size of the input data, GiB
 *   SIM_STEPS=load,join,aggregate           the steps in order (each checkpoints when it completes)
 *   SIM_STEP_load=cpu=0.5;parallelism=64;driverMem=2+0.01;execMem=1+0.2;disk=0+0.5;driverCpu=1
 *
 * Per step (every key optional): `cpu` vCPU-minutes of work per GiB of data, spread over the executors'
 * vCPUs (default 0.1); `parallelism` most vCPUs the step keeps busy (default unlimited); `driverMem` GiB on the
 * driver, `BASE+PER` = BASE + PER x data GiB; `execMem` and `disk` GiB on each executor, BASE + PER x data GiB /
 * executors (the data is partitioned over them); `driverCpu` vCPUs the driver keeps busy (default 1).
 * Host algo-1 is the driver, the others executors; a one-instance job runs both on algo-1.
 *
 * From these and the instance type: a step lasts max(1, work / busy executor vCPUs) minutes (longer when the
 * driver lacks vCPUs), every host reports CPU, memory and disk utilisation each minute, and a host whose memory
 * or disk need exceeds what it has fails the job in the step's first minute.
 */
import { instanceType } from '../../../../common/instance-types';

export interface StepSpec {
  name: string;
  cpuPerGib: number;
  parallelism: number;
  driverMem: [number, number];
  execMem: [number, number];
  disk: [number, number];
  driverCpu: number;
}

export interface Workload {
  dataGib: number;
  steps: StepSpec[];
}

export interface HostUsage {
  /** Percent of the host's vCPUs, 0-100 (CloudWatch reports it summed over cores: x vCPUs). */
  cpu: number;
  memory: number;
  disk: number;
}

export interface PlannedStep {
  name: string;
  minutes: number;
  driver: HostUsage;
  executor?: HostUsage;
}

export interface Resources {
  instanceType: string;
  instanceCount: number;
  volumeGib: number;
}

const STEP_NAME = /^[A-Za-z0-9_-]{1,64}$/;

function pair(text: string, key: string): [number, number] {
  const m = /^(\d+(?:\.\d+)?)(?:\+(\d+(?:\.\d+)?))?$/.exec(text);
  if (!m) throw new Error(`${key}=${text}: expected BASE or BASE+PER (GiB)`);
  return [Number(m[1]), Number(m[2] ?? 0)];
}

function positive(text: string, key: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${key}=${text}: expected a positive number`);
  return n;
}

/** The workload an Environment declares; undefined when it declares none (the job then completes after a minute). */
export function parseWorkload(env: Record<string, string> | undefined): Workload | undefined {
  if (!env || env.SIM_STEPS === undefined) return undefined;
  const dataGib = env.SIM_DATA_GIB === undefined ? 1 : positive(env.SIM_DATA_GIB, 'SIM_DATA_GIB');
  const names = env.SIM_STEPS.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (names.length === 0) throw new Error('SIM_STEPS lists no step');
  if (new Set(names).size !== names.length) throw new Error('SIM_STEPS names a step twice');
  const steps = names.map((name): StepSpec => {
    if (!STEP_NAME.test(name)) throw new Error(`step name ${name}: letters, digits, _ and - only (at most 64)`);
    const step: StepSpec = { name, cpuPerGib: 0.1, parallelism: Infinity, driverMem: [0.5, 0], execMem: [0.5, 0], disk: [0, 0], driverCpu: 1 };
    for (const part of (env[`SIM_STEP_${name}`] ?? '').split(';')) {
      if (part.trim() === '') continue;
      const [key = '', value = ''] = part.split('=').map((s) => s.trim());
      const where = `SIM_STEP_${name} ${key}`;
      switch (key) {
        case 'cpu':
          step.cpuPerGib = positive(value, where);
          break;
        case 'parallelism':
          step.parallelism = positive(value, where);
          break;
        case 'driverCpu':
          step.driverCpu = positive(value, where);
          break;
        case 'driverMem':
          step.driverMem = pair(value, where);
          break;
        case 'execMem':
          step.execMem = pair(value, where);
          break;
        case 'disk':
          step.disk = pair(value, where);
          break;
        default:
          throw new Error(`SIM_STEP_${name}: unknown key ${key} (cpu, parallelism, driverMem, execMem, disk, driverCpu)`);
      }
    }
    return step;
  });
  return { dataGib, steps };
}

const pct = (need: number, have: number) => Math.round((need / have) * 1000) / 10;

/** Minutes and per-host utilisation of each step on the given resources (before any failure). */
export function planSteps(workload: Workload, resources: Resources): PlannedStep[] {
  const type = instanceType(resources.instanceType);
  if (!type) throw new Error(`unknown instance type ${resources.instanceType}`);
  const executors = Math.max(1, resources.instanceCount - 1);
  const single = resources.instanceCount === 1;
  return workload.steps.map((s) => {
    const execVcpus = executors * type.vcpus;
    const busy = Math.min(execVcpus, s.parallelism);
    const driverSlowdown = single ? 1 : Math.max(1, s.driverCpu / type.vcpus);
    const minutes = Math.max(1, Math.ceil((s.cpuPerGib * workload.dataGib * driverSlowdown) / busy));
    const driverMem = s.driverMem[0] + s.driverMem[1] * workload.dataGib;
    const execMem = s.execMem[0] + (s.execMem[1] * workload.dataGib) / executors;
    const execDisk = s.disk[0] + (s.disk[1] * workload.dataGib) / executors;
    const execCpu = pct(busy, execVcpus);
    if (single) {
      return { name: s.name, minutes, driver: { cpu: Math.min(100, execCpu), memory: pct(driverMem + execMem, type.memoryGib), disk: pct(execDisk, resources.volumeGib) } };
    }
    return {
      name: s.name,
      minutes,
      driver: { cpu: pct(Math.min(s.driverCpu, type.vcpus), type.vcpus), memory: pct(driverMem, type.memoryGib), disk: pct(s.disk[0], resources.volumeGib) },
      executor: { cpu: execCpu, memory: pct(execMem, type.memoryGib), disk: pct(execDisk, resources.volumeGib) },
    };
  });
}
