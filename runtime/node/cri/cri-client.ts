/**
 * A client of a container runtime's CRI `runtime.v1.RuntimeService` (containerd's CRI
 * plugin) over its unix socket, with @grpc/grpc-js and the messages of
 * cri-runtime-v1.proto. Every call has a deadline (`criCallMsMax`); a failed call
 * rejects with the runtime's status and message.
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { repositoryPath } from '../../repository-paths.js';

export const criProtoPath = repositoryPath('runtime', 'node', 'cri', 'cri-runtime-v1.proto');

/** The deadline of one CRI call (starting a pod sandbox on a loaded 2-core machine can take seconds). */
export const criCallMsMax = 60_000;

const definition = protoLoader.loadSync(criProtoPath, { keepCase: true, longs: Number, enums: String, defaults: true });
const loaded = grpc.loadPackageDefinition(definition) as unknown as { runtime: { v1: { RuntimeService: grpc.ServiceClientConstructor } } };

export type ContainerState = 'CONTAINER_CREATED' | 'CONTAINER_RUNNING' | 'CONTAINER_EXITED' | 'CONTAINER_UNKNOWN';
export type PodSandboxState = 'SANDBOX_READY' | 'SANDBOX_NOTREADY';

export interface PodSandboxConfig {
  readonly metadata: { readonly name: string; readonly uid: string; readonly namespace: string; readonly attempt: number };
  readonly hostname?: string;
  readonly log_directory?: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly linux: { readonly security_context: { readonly namespace_options: { readonly network: 'NODE' | 'POD'; readonly pid: 'POD' | 'CONTAINER' | 'NODE'; readonly ipc: 'POD' | 'NODE' } } };
}

export interface ContainerConfig {
  readonly metadata: { readonly name: string; readonly attempt: number };
  readonly image: { readonly image: string };
  readonly command: readonly string[];
  readonly args: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly log_path?: string;
}

export interface PodSandbox {
  readonly id: string;
  readonly metadata: { readonly name: string } | null;
  readonly state: PodSandboxState;
  readonly created_at: number;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

export interface Container {
  readonly id: string;
  readonly pod_sandbox_id: string;
  readonly state: ContainerState;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

type Unary = (request: unknown, metadata: grpc.Metadata, options: grpc.CallOptions, callback: (error: grpc.ServiceError | null, reply: unknown) => void) => void;

export class CriClient {
  private readonly client: grpc.Client;

  /** `endpoint`: `unix:///path/to/containerd.sock` (or a plain absolute socket path). */
  constructor(readonly endpoint: string) {
    const target = endpoint.startsWith('unix:') ? endpoint : `unix://${endpoint}`;
    this.client = new loaded.runtime.v1.RuntimeService(target, grpc.credentials.createInsecure(), { 'grpc.max_receive_message_length': 16 * 1024 * 1024 });
  }

  private call<T>(method: string, request: unknown): Promise<T> {
    const fn = (this.client as unknown as Record<string, Unary>)[method];
    if (fn === undefined) throw new Error(`cri-runtime-v1.proto has no method ${method}`);
    return new Promise<T>((resolve, reject) => {
      fn.call(this.client, request, new grpc.Metadata(), { deadline: Date.now() + criCallMsMax }, (error, reply) => {
        if (error !== null) reject(new Error(`CRI ${method}: ${grpc.status[error.code] ?? error.code}: ${error.details}`));
        else resolve(reply as T);
      });
    });
  }

  async version(): Promise<{ runtime_name: string; runtime_version: string; runtime_api_version: string }> {
    return this.call('Version', { version: 'v1' });
  }

  async runPodSandbox(config: PodSandboxConfig): Promise<string> {
    return (await this.call<{ pod_sandbox_id: string }>('RunPodSandbox', { config })).pod_sandbox_id;
  }

  async stopPodSandbox(id: string): Promise<void> {
    await this.call('StopPodSandbox', { pod_sandbox_id: id });
  }

  async removePodSandbox(id: string): Promise<void> {
    await this.call('RemovePodSandbox', { pod_sandbox_id: id });
  }

  async listPodSandbox(labels: Readonly<Record<string, string>>): Promise<PodSandbox[]> {
    return (await this.call<{ items: PodSandbox[] }>('ListPodSandbox', { filter: { label_selector: labels } })).items;
  }

  async createContainer(podSandboxId: string, config: ContainerConfig, sandboxConfig: PodSandboxConfig): Promise<string> {
    return (await this.call<{ container_id: string }>('CreateContainer', { pod_sandbox_id: podSandboxId, config, sandbox_config: sandboxConfig })).container_id;
  }

  async startContainer(id: string): Promise<void> {
    await this.call('StartContainer', { container_id: id });
  }

  async stopContainer(id: string, timeoutSeconds: number): Promise<void> {
    await this.call('StopContainer', { container_id: id, timeout: timeoutSeconds });
  }

  async listContainers(labels: Readonly<Record<string, string>>): Promise<Container[]> {
    return (await this.call<{ containers: Container[] }>('ListContainers', { filter: { label_selector: labels } })).containers;
  }

  close(): void {
    this.client.close();
  }
}
