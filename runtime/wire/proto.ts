/**
 * The wire schema, loaded once from spec/kubedirect.proto with @grpc/proto-loader
 * (no generated code). Field names stay as in the .proto (`keepCase`), 64-bit integers
 * are numbers (every epoch is a safe integer, spec/limits.ts), enums are their names,
 * and `body` names the member of each oneof that is set.
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { repositoryPath } from '../repository-paths.js';
import { decodeStrict, schemaOf, type Schema } from './strict-decoder.js';
import type { Undecodable } from './undecodable.js';

export { isUndecodable, type Undecodable } from './undecodable.js';

export const protoPath = repositoryPath('spec', 'kubedirect.proto');

export const protoLoaderOptions: protoLoader.Options = { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true };

/** The loaded schema; its message descriptors let other files check their view of the .proto (frame-bytes.ts). */
export const packageDefinition = protoLoader.loadSync(protoPath, protoLoaderOptions);
const loaded = grpc.loadPackageDefinition(packageDefinition) as unknown as {
  kubedirect: { v1: Record<string, grpc.ServiceClientConstructor> };
};

/** The schema the strict decoder reads every received message with (strict-decoder.ts). */
export const wireSchema: Schema = schemaOf(packageDefinition);

/** A gRPC request deserializer of `typeName` in `schema` that never throws: the message, or Undecodable with what is wrong. */
export function strictDeserializerOf(schema: Schema, typeName: string): (bytes: Buffer) => Record<string, unknown> | Undecodable {
  return (bytes) => {
    const decoded = decodeStrict(schema, typeName, bytes);
    return decoded.ok ? decoded.value : { undecodable: decoded.why };
  };
}

/** A service definition of the .proto whose every request is read by the strict decoder. */
export function strictServiceOf(service: grpc.ServiceDefinition, schema: Schema = wireSchema): grpc.ServiceDefinition {
  return Object.fromEntries(
    Object.entries(service).map(([name, method]) => {
      const requestType = (method as { requestType?: { type?: { name?: string } } }).requestType;
      return [name, { ...method, requestDeserialize: strictDeserializerOf(schema, requestTypeNameOf(method.path, requestType?.type?.name)) }];
    }),
  );
}

/** `/kubedirect.v1.Scaler/SetScale` and `ScaleRequest` -> `kubedirect.v1.ScaleRequest` (every request type is in its service's package). */
function requestTypeNameOf(path: string, typeName: string | undefined): string {
  const servicePath = path.split('/')[1] ?? '';
  const packageName = servicePath.slice(0, servicePath.lastIndexOf('.'));
  if (typeName === undefined) throw new Error(`${path}: proto-loader gave no request type`);
  return `${packageName}.${typeName}`;
}

function serviceClient(name: string): grpc.ServiceClientConstructor {
  const constructor = loaded.kubedirect.v1[name];
  if (constructor === undefined) throw new Error(`spec/kubedirect.proto has no service ${name}`);
  return constructor;
}

export const LinkClient = serviceClient('Link');
export const ScalerClient = serviceClient('Scaler');
export const InspectClient = serviceClient('Inspect');

// ---------------------------------------------------------------------------
// Frames as proto-loader gives and takes them. Incoming frames are untrusted: the
// codec validates every field before anything reaches a machine.
// ---------------------------------------------------------------------------

export interface WireScale {
  function: string;
  desired: number;
}

export interface WirePodRecord {
  name: string;
  function: string;
  priority: number;
  node: string;
}

export interface WireTombstone {
  name: string;
  origin: string;
}

export interface WireHello {
  upstream_stage_id: string;
  downstream_stage_id: string;
  protocol_version: number;
}

export type UpstreamBody = 'hello' | 'sync' | 'scale_set' | 'provision' | 'tombstone';

export interface UpstreamFrame {
  epoch: number;
  body?: UpstreamBody;
  hello?: WireHello;
  sync?: Record<string, never>;
  scale_set?: { scales: WireScale[] };
  provision?: { pods: WirePodRecord[] };
  tombstone?: { tombstones: WireTombstone[] };
}

export interface WireSnapshotPod {
  record: WirePodRecord | null;
  phase: string;
}

export interface WireSnapshotTombstone {
  record: WirePodRecord | null;
  origin: string;
}

export interface WireSnapshot {
  scales: WireScale[];
  pods: WireSnapshotPod[];
  tombstones: WireSnapshotTombstone[];
  last: boolean;
}

export type DownstreamBody = 'snapshot' | 'rejected' | 'scale_applied' | 'running' | 'failed' | 'preempted' | 'tombstone_done';

export interface DownstreamFrame {
  epoch: number;
  body?: DownstreamBody;
  snapshot?: WireSnapshot;
  rejected?: { reason: string; message: string };
  scale_applied?: { scales: WireScale[] };
  running?: { names: string[] };
  failed?: { failures: Array<{ name: string; reason: string }> };
  preempted?: { names: string[] };
  tombstone_done?: { names: string[] };
}

export interface WireErrorDetail {
  reason: string;
  epoch: number;
  link_id: string;
  message: string;
}

export interface WireLinkState {
  link_id: string;
  end: 'upstream' | 'downstream';
  state: string;
  epoch: number;
  synced_once: boolean;
  last_rejection: WireErrorDetail | null;
}

export interface WireScaleState {
  function: string;
  known: boolean;
  desired: number;
  clean: boolean;
}

export interface WirePodState {
  record: WirePodRecord;
  state: string;
  tombstone_origin: string;
}

export interface WireNodeState {
  node: string;
  capacity: number;
  used: number;
  warm: boolean;
}

export interface WireStageState {
  stage_id: string;
  incarnation: number;
  warm: boolean;
  protocol_version: number;
  links: WireLinkState[];
  scales: WireScaleState[];
  pods: WirePodState[];
  nodes: WireNodeState[];
}
