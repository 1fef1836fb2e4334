/**
 * A node crash for tests (spec 06: the Kubelet and every sandbox of the node are lost;
 * only the Kubelet's incarnation counter survives, REQ-FAIL-003). Call it after the
 * Kubelet process is dead (SIGKILL) and before it restarts: it destroys what a real
 * crash destroys in the Kubelet's data dir, whatever the sandbox driver:
 * - `simulated`: the sandbox journal (DATA/sandboxes.ndjson), so the restarted Kubelet
 *   finds no sandbox;
 * - `process`: every sandbox process of the node is killed (SIGKILL to its group) and
 *   its pid file and ready files are removed.
 * The incarnation counter, the trace and everything else in the data dir stay.
 */
import { existsSync, rmSync } from 'node:fs';
import { killProcessSandboxes } from '../node/process-sandboxes.js';
import type { CriSandboxConfig } from '../node/cri/cri-config.js';
import { removeCriSandboxes } from '../node/cri/cri-sandboxes.js';
import { simulatedSandboxesFileOf } from '../node/simulated-sandboxes.js';

export interface NodeCrashOutcome {
  /** The simulated sandbox file existed and was removed. */
  readonly simulatedSandboxesLost: boolean;
  /** Pids of the process sandboxes killed. */
  readonly processesKilled: readonly number[];
}

export function crashNodeSandboxes(kubeletDataDir: string): NodeCrashOutcome {
  const simulated = simulatedSandboxesFileOf(kubeletDataDir);
  const simulatedSandboxesLost = existsSync(simulated);
  rmSync(simulated, { force: true });
  rmSync(`${simulated}.tmp`, { force: true });
  return { simulatedSandboxesLost, processesKilled: killProcessSandboxes(kubeletDataDir) };
}

/**
 * The same crash for a Kubelet with the `cri` driver: every container and pod sandbox it
 * owns is stopped and removed through the runtime (what losing the machine does to them);
 * call it after the Kubelet is dead and before it restarts. Returns the pods lost.
 */
export async function crashCriNodeSandboxes(kubeletDataDir: string, cri: CriSandboxConfig): Promise<string[]> {
  return removeCriSandboxes(kubeletDataDir, cri);
}
