import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';

/** Raised for a configuration value the program cannot run with; the CLI prints its message and exits 2. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly variable: string, readonly accepts: string, readonly value: string) {
    super(`${variable}=${JSON.stringify(value)} is invalid: ${variable} accepts ${accepts}`);
  }
}

const port = (variable: string, fallback: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return fallback;
      const n = Number(v);
      if (!/^\d+$/.test(v) || n < 1 || n > 65535) {
        ctx.addIssue({ code: 'custom', message: 'a TCP port number from 1 to 65535' });
        return z.NEVER;
      }
      return n;
    })
    .describe(variable);

const optionalText = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

const hostPort = optionalText.refine(
  (v) => v === undefined || /^[A-Za-z0-9.\-_[\]:]+:\d{1,5}$/.test(v),
  'host:port, for example localhost:7233 or my-ns.a1b2c.tmprl.cloud:7233',
);

const existingFile = optionalText.refine(
  (v) => v === undefined || existsSync(v),
  'the path of a readable file (PEM)',
);

const url = optionalText.refine((v) => {
  if (v === undefined) return true;
  try {
    const u = new URL(v);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}, 'an http:// or https:// URL, for example http://127.0.0.1:4566');

const region = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v === '' ? 'us-east-1' : v))
  .refine((v) => /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$/.test(v), 'an AWS region name such as us-east-1');

const shape = {
  TEMPORAL_ADDRESS: hostPort,
  TEMPORAL_NAMESPACE: z
    .string()
    .optional()
    .transform((v) => (v === undefined || v === '' ? 'default' : v))
    .refine((v) => /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/.test(v), 'a namespace name: letters, digits, ".", "_" and "-"'),
  TEMPORAL_API_KEY: optionalText,
  TEMPORAL_TLS_CERT: existingFile,
  TEMPORAL_TLS_KEY: existingFile,
  MLOPS_AWS: z
    .string()
    .optional()
    .transform((v) => (v === undefined || v === '' ? 'emulator' : v))
    .refine((v) => v === 'emulator' || v === 'aws', '"emulator" (the default, nothing leaves the machine) or "aws" (a real account)')
    .transform((v) => v as 'emulator' | 'aws'),
  AWS_REGION: region,
  AWS_ENDPOINT_URL: url,
  MLOPS_TEMPORAL_PORT: port('MLOPS_TEMPORAL_PORT', 7233),
  MLOPS_EMULATOR_PORT: port('MLOPS_EMULATOR_PORT', 4566),
  MLOPS_GATEWAY_PORT: port('MLOPS_GATEWAY_PORT', 8088),
  MLOPS_GATEWAY_API_KEY: optionalText,
  MLOPS_GATEWAY_SNS_TOPIC_ARNS: optionalText
    .transform((v) => (v === undefined ? [] : v.split(',').map((a) => a.trim()).filter(Boolean)))
    .refine((arns) => arns.every((a) => /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/.test(a)), 'SNS topic ARNs, separated by commas'),
  MLOPS_DATASYNC_TASK_CAP: z
    .string()
    .optional()
    .transform((v) => (v === undefined || v === '' ? '90' : v))
    .refine((v) => /^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= 100, 'a whole number from 1 to 100')
    .transform(Number),
  MLOPS_DATASYNC_SECURITY_GROUP: optionalText.refine((v) => v === undefined || /^sg-[0-9a-f]{8,17}$/.test(v), 'a security group id such as sg-0123456789abcdef0'),
  MLOPS_GATEWAY_HOST: z
    .string()
    .optional()
    .transform((v) => (v === undefined || v === '' ? '127.0.0.1' : v))
    .refine((v) => /^[A-Za-z0-9.:-]+$/.test(v), 'a host name or IP address to listen on'),
  MLOPS_EMULATOR_TIME_SCALE: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return 1;
      const n = Number(v);
      if (!Number.isFinite(n) || n <= 0 || n > 10_000) {
        ctx.addIssue({ code: 'custom', message: 'a number above 0, at most 10000' });
        return z.NEVER;
      }
      return n;
    }),
  MLOPS_DATA_DIR: z
    .string()
    .optional()
    .transform((v) => resolve(v === undefined || v.trim() === '' ? '.mlops' : v.trim()))
    .refine((v) => !existsSync(v) || statSync(v).isDirectory(), 'a directory path'),
  MLOPS_LOG_LEVEL: z
    .string()
    .optional()
    .transform((v) => (v === undefined || v === '' ? 'info' : v))
    .refine((v) => ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(v), 'one of fatal, error, warn, info, debug, trace, silent'),
  MLOPS_LOG_FORMAT: optionalText
    .refine((v) => v === undefined || v === 'json' || v === 'pretty', '"json" or "pretty"')
    .transform((v) => v as 'json' | 'pretty' | undefined),
  MLOPS_UI_PORT: port('MLOPS_UI_PORT', 8233),
  MLOPS_UI_CODEC_ENDPOINT: url,
} as const;

const schema = z.object(shape).superRefine((c, ctx) => {
  if ((c.TEMPORAL_TLS_CERT === undefined) !== (c.TEMPORAL_TLS_KEY === undefined)) {
    ctx.addIssue({
      code: 'custom',
      path: [c.TEMPORAL_TLS_CERT === undefined ? 'TEMPORAL_TLS_CERT' : 'TEMPORAL_TLS_KEY'],
      message: 'a PEM file, set together with its pair (TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together)',
    });
  }
});

/** Human text of what each variable accepts, for the error line and the README table. */
const accepts: Record<keyof typeof shape, string> = {
  TEMPORAL_ADDRESS: 'host:port, for example localhost:7233 (unset: the embedded server)',
  TEMPORAL_NAMESPACE: 'a namespace name: letters, digits, ".", "_" and "-" (default "default")',
  TEMPORAL_API_KEY: 'an API key string',
  TEMPORAL_TLS_CERT: 'the path of a readable PEM certificate file, set together with TEMPORAL_TLS_KEY',
  TEMPORAL_TLS_KEY: 'the path of a readable PEM key file, set together with TEMPORAL_TLS_CERT',
  MLOPS_AWS: '"emulator" (default) or "aws"',
  AWS_REGION: 'an AWS region name such as us-east-1',
  AWS_ENDPOINT_URL: 'an http:// or https:// URL',
  MLOPS_TEMPORAL_PORT: 'a TCP port number from 1 to 65535 (default 7233)',
  MLOPS_EMULATOR_PORT: 'a TCP port number from 1 to 65535 (default 4566)',
  MLOPS_GATEWAY_PORT: 'a TCP port number from 1 to 65535 (default 8088)',
  MLOPS_GATEWAY_API_KEY: 'the API key that EventBridge API destinations send',
  MLOPS_GATEWAY_SNS_TOPIC_ARNS: 'SNS topic ARNs, separated by commas, whose signed deliveries POST /events/sns accepts (default: none; under `mlops start` on the embedded emulator, its topics too)',
  MLOPS_DATASYNC_SECURITY_GROUP: 'a security group id such as sg-0123456789abcdef0 (default: the domain\'s Studio outbound-NFS group)',
  MLOPS_DATASYNC_TASK_CAP: 'a whole number from 1 to 100: most live DataSync tasks profile recovery may hold (default 90; the region quota is 100)',
  MLOPS_GATEWAY_HOST: 'a host name or IP address for the gateway to listen on (default 127.0.0.1; 0.0.0.0 in a container)',
  MLOPS_EMULATOR_TIME_SCALE: 'a number above 0, at most 10000: emulated seconds per real second for the embedded emulator\'s jobs (default 1; 60 makes a 2-minute DataSync copy take 2 seconds)',
  MLOPS_DATA_DIR: 'a directory (created if missing) where `mlops start` keeps the embedded server\'s and emulator\'s state (default .mlops in the working directory)',
  MLOPS_LOG_LEVEL: 'one of fatal, error, warn, info, debug, trace, silent',
  MLOPS_LOG_FORMAT: '"json" (JSON lines) or "pretty" (human-readable); unset: pretty when stderr is a terminal, JSON lines otherwise',
  MLOPS_UI_PORT: 'a TCP port number from 1 to 65535 (default 8233): the embedded server\'s Temporal Web UI and HTTP API',
  MLOPS_UI_CODEC_ENDPOINT: 'an http:// or https:// URL of a codec server the Web UI decodes payloads with',
};

export type Config = z.infer<typeof schema>;

/** Reads and validates the environment; throws ConfigError naming the first bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const picked: Record<string, string | undefined> = {};
  for (const key of Object.keys(shape)) picked[key] = env[key];
  const parsed = schema.safeParse(picked);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const variable = String(issue.path[0]) as keyof typeof shape;
  throw new ConfigError(variable, accepts[variable] ?? issue.message, picked[variable] ?? '');
}

export const configVariables = accepts;
