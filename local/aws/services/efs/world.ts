/**
 * The resources that SageMaker, EFS, DataSync and EC2 share in one emulator: a domain creates file systems, mount
 * targets and security groups; DataSync reads and writes the file systems' trees and checks the security groups.
 * One World per emulator instance, through the core's `scope.shared` (see SERVICES.md).
 */
import type { EmulatorScope } from '../../service';
import { Ec2Store } from '../ec2/store';
import { FileTree } from './file-tree';
import { EfsStore } from './store';

export class World {
  readonly ec2 = new Ec2Store();
  readonly efs = new EfsStore(this.ec2);
}

export function worldOf(scope: EmulatorScope): World {
  return scope.shared('studio-world', () => new World());
}

/** The classes a World is made of, for every service holding it to declare (`persistentClasses`). */
export const WORLD_CLASSES = { World, Ec2Store, EfsStore, FileTree } as const;
