/**
 * Temporal's history JSON (the format of `temporal workflow show --output json` and the SDK's `historyToJSON`), read
 * and written with the protobufjs copy that `@temporalio/proto` itself uses. The SDK's own `historyToJSON` /
 * `historyFromJSON` fail in this install ("type must be a Type"): `@temporalio/common` and `@temporalio/proto` each
 * get a nested protobufjs 8 (the project pins protobufjs 7 at the top for the embedded server), and protobufjs'
 * JSON helpers refuse the other copy's types. These two functions do what the SDK's do, with the matching copy.
 */
import { dirname } from 'node:path';
import { patchProtobufRoot } from '@temporalio/proto/lib/patch-protobuf-root';
import type { History } from '@temporalio/common/lib/proto-utils';

interface ProtoJson {
  toJson(type: unknown, message: unknown): unknown;
  fromJson(type: unknown, json: unknown, options?: { ignoreUnknownFields?: boolean }): unknown;
}

// The CommonJS module itself (as the SDK passes it): an ES namespace wrapper would hide the protobuf root's members.
const proto = require('@temporalio/proto') as typeof import('@temporalio/proto');
const protojson = require(require.resolve('protobufjs/ext/protojson', { paths: [dirname(require.resolve('@temporalio/proto/package.json'))] })) as ProtoJson;
const historyType = (patchProtobufRoot(proto) as unknown as { lookupType(name: string): unknown }).lookupType('temporal.api.history.v1.History');

export function historyToJSON(history: History): string {
  return JSON.stringify(protojson.toJson(historyType, proto.temporal.api.history.v1.History.fromObject(history)), null, 2);
}

export function historyFromJSON(json: unknown): History {
  const loaded = protojson.fromJson(historyType, json, { ignoreUnknownFields: true }) as History | null;
  if (!loaded) throw new TypeError('not a Temporal history');
  return loaded;
}
