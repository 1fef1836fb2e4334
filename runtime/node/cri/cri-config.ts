/** The `sandbox.cri` section of a cluster configuration (the `cri` sandbox driver, cri-sandboxes.ts), and its checks. */
import { sandboxImageName } from './sandbox-image.js';

/** The `sandbox.cri` section of a cluster configuration. */
export interface CriSandboxConfig {
  /** The runtime's socket: `unix:///run/containerd/containerd.sock` or an absolute path. */
  readonly endpoint: string;
  /** The pod container's image, already in the runtime (default kubedirect.local/sandbox:1, npm run cri:image). */
  readonly image?: string;
}

/** Why a `sandbox.cri` section is unusable; empty when fine. */
export function criSandboxConfigProblems(raw: unknown): string[] {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return ['sandbox.cri must be {"endpoint": "unix:///run/containerd/containerd.sock"} with sandbox.driver "cri"'];
  const { endpoint, image } = raw as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof endpoint !== 'string' || !/^(unix:\/\/)?\/\S+$/.test(endpoint)) problems.push(`sandbox.cri.endpoint must be a unix socket (unix:///run/containerd/containerd.sock or an absolute path), got ${JSON.stringify(endpoint)}`);
  if (image !== undefined && (typeof image !== 'string' || !/^[a-z0-9][a-z0-9._\-/:@]*$/.test(image))) problems.push(`sandbox.cri.image must be an image reference such as ${sandboxImageName}, got ${JSON.stringify(image)}`);
  return problems;
}
