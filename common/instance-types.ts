/**
 * The ml.* instance types SageMaker Processing runs on: vCPUs, memory and the on-demand price per instance-hour
 * (us-east-1, SageMaker Processing, as the AWS pricing page lists them; other regions differ). One table for the
 * emulator (step times and utilisation follow from it), the workflow (next size up, another family, cost) and the CLI.
 * Pure data: workflows import it.
 */
export interface InstanceType {
  name: string;
  family: string;
  vcpus: number;
  memoryGib: number;
  usdPerHour: number;
}

function family(name: string, sizes: readonly (readonly [size: string, vcpus: number, memoryGib: number, usdPerHour: number])[]): InstanceType[] {
  return sizes.map(([size, vcpus, memoryGib, usdPerHour]) => ({ name: `ml.${name}.${size}`, family: name, vcpus, memoryGib, usdPerHour }));
}

/** Each family smallest first: "the next size up" is the next entry of the same family. */
export const INSTANCE_TYPES: readonly InstanceType[] = [
  ...family('t3', [
    ['medium', 2, 4, 0.05],
    ['large', 2, 8, 0.1],
    ['xlarge', 4, 16, 0.2],
    ['2xlarge', 8, 32, 0.4],
  ]),
  ...family('m5', [
    ['large', 2, 8, 0.115],
    ['xlarge', 4, 16, 0.23],
    ['2xlarge', 8, 32, 0.461],
    ['4xlarge', 16, 64, 0.922],
    ['12xlarge', 48, 192, 2.765],
    ['24xlarge', 96, 384, 5.53],
  ]),
  ...family('c5', [
    ['xlarge', 4, 8, 0.204],
    ['2xlarge', 8, 16, 0.408],
    ['4xlarge', 16, 32, 0.816],
    ['9xlarge', 36, 72, 1.836],
    ['18xlarge', 72, 144, 3.672],
  ]),
  ...family('r5', [
    ['large', 2, 16, 0.151],
    ['xlarge', 4, 32, 0.302],
    ['2xlarge', 8, 64, 0.605],
    ['4xlarge', 16, 128, 1.21],
    ['8xlarge', 32, 256, 2.419],
    ['12xlarge', 48, 384, 3.629],
    ['16xlarge', 64, 512, 4.838],
    ['24xlarge', 96, 768, 7.258],
  ]),
];

const BY_NAME = new Map(INSTANCE_TYPES.map((t) => [t.name, t]));

export function instanceType(name: string): InstanceType | undefined {
  return BY_NAME.get(name);
}

/** The next bigger size of the same family, or undefined at the top. */
export function nextSizeUp(name: string): InstanceType | undefined {
  const t = BY_NAME.get(name);
  if (!t) return undefined;
  const sizes = INSTANCE_TYPES.filter((x) => x.family === t.family);
  return sizes[sizes.findIndex((x) => x.name === name) + 1];
}

/** The cheapest type of another family with at least as many vCPUs and as much memory (for a capacity shortage). */
export function otherFamily(name: string, avoid: readonly string[] = []): InstanceType | undefined {
  const t = BY_NAME.get(name);
  if (!t) return undefined;
  return INSTANCE_TYPES.filter((x) => x.family !== t.family && !avoid.includes(x.family) && x.vcpus >= t.vcpus && x.memoryGib >= t.memoryGib).sort(
    (a, b) => a.usdPerHour - b.usdPerHour,
  )[0];
}

/** Price of `count` instances for `ms` milliseconds (billed per second). */
export function costUsd(name: string, count: number, ms: number): number {
  const t = BY_NAME.get(name);
  if (!t) return 0;
  return (t.usdPerHour * count * Math.ceil(Math.max(0, ms) / 1000)) / 3600;
}
