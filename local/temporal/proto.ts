/**
 * Loads Temporal's .proto files once: grpc-js needs a package definition for the services, and a few messages travel
 * as `google.protobuf.Any` (update protocol messages, error details) that we must encode and decode ourselves.
 */
import { join } from 'node:path';
import * as protobuf from 'protobufjs';
import type { ServiceDefinition } from '@grpc/grpc-js';

const PROTO_ROOT = join(
  require.resolve('@temporalio/core-bridge/package.json'),
  '..',
  'sdk-core/crates/protos/protos',
);
const INCLUDE_DIRS = [join(PROTO_ROOT, 'api_upstream'), join(PROTO_ROOT, 'testsrv_upstream')];
const FILES = [
  'temporal/api/workflowservice/v1/service.proto',
  'temporal/api/operatorservice/v1/service.proto',
  'temporal/api/testservice/v1/service.proto',
  // Not imported by the services, but their messages travel as error details.
  'temporal/api/errordetails/v1/message.proto',
];

/** Field shapes as our handlers see them: camelCase, enums as strings, int64 as number, bytes as Buffer. */
export const CONVERSION = { keepCase: false, enums: String, longs: Number, bytes: Buffer, oneofs: true, defaults: false } as const;

interface LoadedProtos {
  root: protobuf.Root;
  services: Map<string, ServiceDefinition>;
}

let loaded: LoadedProtos | undefined;

function load(): LoadedProtos {
  if (loaded) return loaded;
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    for (const dir of INCLUDE_DIRS) {
      const candidate = join(dir, target);
      try {
        require('node:fs').accessSync(candidate);
        return candidate;
      } catch {
        // try the next include dir
      }
    }
    return target;
  };
  root.loadSync(FILES, { keepCase: false });
  // google.rpc.Status is not shipped with the Temporal protos; it carries error details on failed calls.
  const status = new protobuf.Type('Status')
    .add(new protobuf.Field('code', 1, 'int32'))
    .add(new protobuf.Field('message', 2, 'string'))
    .add(new protobuf.Field('details', 3, 'google.protobuf.Any', 'repeated'));
  root.define('google.rpc').add(status);
  root.resolveAll();
  loaded = { root, services: new Map() };
  return loaded;
}

/**
 * The grpc-js definition of a service, built from the protobufjs root with our conversion conventions (what
 * @grpc/proto-loader would build, without its descriptors for every message: the server starts in half the time).
 */
export function serviceDefinition(name: string): ServiceDefinition | undefined {
  const { root, services } = load();
  const cached = services.get(name);
  if (cached) return cached;
  const service = root.lookup(name);
  if (!(service instanceof protobuf.Service)) return undefined;
  const definition: Record<string, ServiceDefinition[string]> = {};
  for (const method of service.methodsArray) {
    method.resolve();
    const request = method.resolvedRequestType as protobuf.Type;
    const response = method.resolvedResponseType as protobuf.Type;
    definition[method.name] = {
      path: `/${name}/${method.name}`,
      requestStream: false,
      responseStream: false,
      requestSerialize: (value: object) => Buffer.from(request.encode(request.fromObject(value)).finish()),
      requestDeserialize: (bytes: Buffer) => request.toObject(request.decode(bytes), CONVERSION),
      responseSerialize: (value: object) => Buffer.from(response.encode(response.fromObject(value)).finish()),
      responseDeserialize: (bytes: Buffer) => response.toObject(response.decode(bytes), CONVERSION),
      originalName: method.name.charAt(0).toLowerCase() + method.name.slice(1),
    };
  }
  services.set(name, definition);
  return definition;
}

export type Message = Record<string, unknown>;

/** Encodes a plain object (our conversion conventions) as the named message. */
export function encodeMessage(typeName: string, value: object): Buffer {
  const type = load().root.lookupType(typeName);
  return Buffer.from(type.encode(type.fromObject(value)).finish());
}

export function decodeMessage<T>(typeName: string, bytes: Uint8Array): T {
  const type = load().root.lookupType(typeName);
  return type.toObject(type.decode(bytes), CONVERSION) as T;
}

/**
 * protobufjs keeps `type_url` snake-cased inside google.protobuf.Any whatever the case option (its well-known-type
 * wrapper), while our own root names it `typeUrl`; an Any we build carries both so every encoder finds it.
 */
export interface AnyMessage {
  type_url?: string;
  typeUrl?: string;
  value?: Buffer;
}

export function packAny(typeName: string, value: object): AnyMessage {
  const url = `type.googleapis.com/${typeName}`;
  return { type_url: url, typeUrl: url, value: encodeMessage(typeName, value) };
}

export function unpackAny<T>(any: AnyMessage | undefined): { typeName: string; value: T } | undefined {
  const url = any?.type_url ?? any?.typeUrl;
  if (!any || !url) return undefined;
  const typeName = url.slice(url.lastIndexOf('/') + 1);
  return { typeName, value: decodeMessage<T>(typeName, any.value ?? Buffer.alloc(0)) };
}

