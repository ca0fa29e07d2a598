/** Every emulated service; add yours here (one import, one entry). See ../SERVICES.md. */
import type { ServiceDefinition } from '../service';
import { s3 } from './s3';
import { sagemaker } from './sagemaker';
import { efs } from './efs';
import { datasync } from './datasync';
import { ec2 } from './ec2';
import { cloudwatch } from './cloudwatch';
import { glue } from './glue';
import { forecast } from './forecast';
import { featureStoreRuntime } from './sagemaker-featurestore-runtime';
import { sns } from './sns';

export const allServices: readonly ServiceDefinition<unknown>[] = [s3, sagemaker, efs, datasync, ec2, cloudwatch, glue, forecast, featureStoreRuntime, sns];
