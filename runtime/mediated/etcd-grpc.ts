/**
 * A small etcd v3 client over gRPC (etcd serves gRPC on its client URL), from the
 * hand-written subset of etcd's API in etcd-rpc.proto loaded with @grpc/proto-loader:
 * Put, Range, DeleteRange and prefix watches. Used by the store-mediated transport's
 * records and watches and the burst benchmark's calibration. The `etcd3` package
 * (runtime/store/etcd-client.ts, used for the presence leases) was measured in its place
 * and slowed the baseline (README.md here); etcd's JSON gateway is slower still for this
 * load (one HTTP request per put, see bench/burst/calibrate.ts).
 *
 * Keys are strings, values Buffers (a string passed for a proto `bytes` field would be
 * read as base64, so everything is turned into a Buffer here).
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { repositoryPath } from '../repository-paths.js';
import { PutLimiter } from './put-limiter.js';

export const etcdProtoPath = repositoryPath('runtime', 'mediated', 'etcd-rpc.proto');

const definition = protoLoader.loadSync(etcdProtoPath, { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true });
const loaded = grpc.loadPackageDefinition(definition) as unknown as { etcdserverpb: Record<string, grpc.ServiceClientConstructor> };

function serviceOf(name: string): grpc.ServiceClientConstructor {
  const constructor = loaded.etcdserverpb[name];
  if (constructor === undefined) throw new Error(`${etcdProtoPath} has no service ${name}`);
  return constructor;
}

const KVClient = serviceOf('KV');
const WatchClient = serviceOf('Watch');

/**
 * Time one unary call to etcd may take. Long on purpose: a stage busy stepping a large
 * batch may not run its event loop for seconds on a loaded machine, and a deadline that
 * fires then says nothing about etcd (it would end a healthy session).
 */
export const etcdCallMsMax = 120_000;
/** Largest message etcd sends us (a watch response batches many events). */
const etcdMessageBytesMax = 64 * 1024 * 1024;

interface WireKeyValue {
  key: Buffer;
  value: Buffer;
  mod_revision: number;
  create_revision: number;
}

interface WireWatchResponse {
  header: { revision: number } | null;
  watch_id: number;
  created: boolean;
  canceled: boolean;
  compact_revision: number;
  cancel_reason: string;
  events: Array<{ type: 'PUT' | 'DELETE'; kv: WireKeyValue | null }>;
}

export interface KeyValue {
  readonly key: string;
  readonly value: Buffer;
  readonly modRevision: number;
}

export interface WatchEvent {
  readonly type: 'put' | 'delete';
  readonly key: string;
  readonly value: Buffer;
  readonly modRevision: number;
}

export interface Watch {
  /** Ends the watch (its stream); no callback runs after it. */
  cancel(): void;
}

/** The end of the key range of every key starting with `prefix`. */
export function prefixRangeEnd(prefix: string): Buffer {
  const bytes = Buffer.from(prefix, 'utf8');
  const last = bytes.length - 1;
  bytes[last] = (bytes[last] ?? 0) + 1;
  return bytes;
}

/** host:port of an http://HOST:PORT etcd client URL. */
export function grpcTargetOf(endpoint: string): string {
  const url = new URL(endpoint);
  return `${url.hostname}:${url.port}`;
}

type Unary = (request: unknown, metadata: grpc.Metadata, options: grpc.CallOptions, callback: (error: grpc.ServiceError | null, reply: unknown) => void) => void;

export class EtcdGrpcClient {
  private readonly kv: grpc.Client;
  private readonly watcher: grpc.Client;
  private closed = false;
  private readonly puts = new PutLimiter();

  constructor(readonly endpoint: string) {
    const target = grpcTargetOf(endpoint);
    const options: grpc.ChannelOptions = { 'grpc.max_receive_message_length': etcdMessageBytesMax, 'grpc.max_send_message_length': etcdMessageBytesMax };
    this.kv = new KVClient(target, grpc.credentials.createInsecure(), options);
    // Watches on a channel of their own, so a burst of puts never queues behind events.
    this.watcher = new WatchClient(target, grpc.credentials.createInsecure(), { ...options, 'grpc.use_local_subchannel_pool': 1 });
  }

  private unary<T>(method: string, request: unknown): Promise<T> {
    const fn = (this.kv as unknown as Record<string, Unary>)[method];
    if (fn === undefined) throw new Error(`etcd KV has no ${method}`);
    return new Promise<T>((resolve, reject) => {
      fn.call(this.kv, request, new grpc.Metadata(), { deadline: Date.now() + etcdCallMsMax }, (error, reply) => {
        if (error !== null) reject(new Error(`etcd ${method}: ${error.details || error.message}`));
        else resolve(reply as T);
      });
    });
  }

  /**
   * Writes `key`; resolves with the revision of the write once etcd has committed it.
   * Through the client's PutLimiter (put-limiter.ts): a bounded number in flight, and a
   * put etcd refuses as overloaded asked again.
   */
  async put(key: string, value: Buffer | string): Promise<number> {
    const request = { key: Buffer.from(key, 'utf8'), value: typeof value === 'string' ? Buffer.from(value, 'utf8') : value };
    const reply = await this.puts.run(() => this.unary<{ header: { revision: number } | null }>('Put', request), () => this.closed);
    return reply.header?.revision ?? 0;
  }

  /** Every key with `prefix` now, and the store's revision they were read at. */
  async rangePrefix(prefix: string): Promise<{ kvs: KeyValue[]; revision: number }> {
    const reply = await this.unary<{ header: { revision: number } | null; kvs: WireKeyValue[] }>('Range', { key: Buffer.from(prefix, 'utf8'), range_end: prefixRangeEnd(prefix) });
    return { kvs: reply.kvs.map((kv) => ({ key: kv.key.toString('utf8'), value: kv.value, modRevision: kv.mod_revision })), revision: reply.header?.revision ?? 0 };
  }

  async get(key: string): Promise<KeyValue | null> {
    const reply = await this.unary<{ kvs: WireKeyValue[] }>('Range', { key: Buffer.from(key, 'utf8') });
    const kv = reply.kvs[0];
    return kv === undefined ? null : { key: kv.key.toString('utf8'), value: kv.value, modRevision: kv.mod_revision };
  }

  /** Deletes every key with `prefix`; resolves with how many there were. */
  async deletePrefix(prefix: string): Promise<number> {
    const reply = await this.unary<{ deleted: number }>('DeleteRange', { key: Buffer.from(prefix, 'utf8'), range_end: prefixRangeEnd(prefix) });
    return reply.deleted;
  }

  async delete(key: string): Promise<number> {
    const reply = await this.unary<{ deleted: number }>('DeleteRange', { key: Buffer.from(key, 'utf8') });
    return reply.deleted;
  }

  /**
   * Watches every key with `prefix` from `startRevision` (0: from now). `onEvents` gets
   * each response's events in revision order; `onReady` runs once etcd has created the
   * watch; `onEnd` once when the watch ends (error, cancel by etcd, compaction).
   */
  watchPrefix(
    prefix: string,
    startRevision: number,
    handlers: { onEvents: (events: WatchEvent[]) => void; onReady?: () => void; onEnd: (why: string) => void },
  ): Watch {
    const call = this.watcher.makeBidiStreamRequest(
      '/etcdserverpb.Watch/Watch',
      watchMethod.requestSerialize as (request: unknown) => Buffer,
      watchMethod.responseDeserialize as (bytes: Buffer) => WireWatchResponse,
    );
    let ended = false;
    const end = (why: string): void => {
      if (ended) return;
      ended = true;
      call.cancel();
      handlers.onEnd(why);
    };
    call.on('data', (response: WireWatchResponse) => {
      if (ended) return;
      if (response.created) handlers.onReady?.();
      if (response.events.length > 0)
        handlers.onEvents(
          response.events.map((e) => ({
            type: e.type === 'DELETE' ? 'delete' : 'put',
            key: e.kv?.key.toString('utf8') ?? '',
            value: e.kv?.value ?? Buffer.alloc(0),
            modRevision: e.kv?.mod_revision ?? 0,
          })),
        );
      if (response.canceled) end(`watch canceled by etcd: ${response.cancel_reason || `compacted at ${response.compact_revision}`}`);
    });
    call.on('error', (error: grpc.ServiceError) => end(`watch stream error: ${error.details || error.message}`));
    call.on('end', () => end('watch stream ended'));
    call.write({ create_request: { key: Buffer.from(prefix, 'utf8'), range_end: prefixRangeEnd(prefix), start_revision: startRevision } });
    return {
      cancel: () => {
        ended = true;
        call.cancel();
      },
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.kv.close();
    this.watcher.close();
  }
}

const watchMethod = (WatchClient.service as grpc.ServiceDefinition)['Watch'] as grpc.MethodDefinition<unknown, WireWatchResponse>;
if (watchMethod === undefined) throw new Error(`${etcdProtoPath}: Watch has no Watch`);
