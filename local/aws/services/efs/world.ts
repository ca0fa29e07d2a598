/**
 * The resources that SageMaker, EFS, DataSync and EC2 share in one emulator: a domain creates file systems, mount
 * targets and security groups; DataSync reads and writes the file systems' trees and checks the security groups.
 *
 * Why this linking: the core gives each service only its own state (`ctx.state`), created by `createState()` at
 * start-up and on reset, one service after the other, synchronously. Each of the four services joins the world
 * being formed when its state is created; a service that has already joined it (the next emulator, or the next
 * reset) starts a new one, and a world stops accepting members at the end of the tick it was formed in. So the
 * four states of one emulator share one world, whatever the order of registration, and two emulators never do.
 */
import { Ec2Store } from '../ec2/store';
import { EfsStore } from './store';

export const WORLD_MEMBERS = ['sagemaker', 'efs', 'datasync', 'ec2'] as const;
export type WorldMember = (typeof WORLD_MEMBERS)[number];

export class World {
  readonly ec2 = new Ec2Store();
  readonly efs = new EfsStore(this.ec2);
  readonly members = new Set<WorldMember>();
}

let forming: World | undefined;

export function joinWorld(member: WorldMember): World {
  if (!forming || forming.members.has(member)) {
    const world = new World();
    forming = world;
    queueMicrotask(() => {
      if (forming === world) forming = undefined;
    });
  }
  forming.members.add(member);
  return forming;
}
