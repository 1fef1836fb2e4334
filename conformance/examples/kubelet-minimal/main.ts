/**
 * A minimal Kubelet of the Kubedirect protocol, written from spec/ alone.
 *
 *     KD_LAUNCH_CONFIG=/path/to/launch.json node --import tsx conformance/examples/kubelet-minimal/main.ts
 *
 * Start order (REQ-SESS-001, REQ-POD-013, REQ-REC-003): read the launch config, store the
 * next incarnation durably, rebuild the pods from the sandbox inventory, and only then
 * serve and answer the health check with SERVING.
 */
import * as grpc from '@grpc/grpc-js';
import { frameBytesMax, linkDeadMsMax } from '../../../spec/limits.js';
import { startNextIncarnation } from './incarnation.js';
import { Kubelet } from './kubelet.js';
import { LaunchConfigError, readLaunchConfig } from './launch-config.js';
import type { KubeletConfig } from './launch-config.js';
import { LinkServer } from './link-server.js';
import { logger } from './log.js';
import { healthHandlers, inspectHandlers } from './observability.js';
import { SimulatedSandboxRuntime } from './sandbox-runtime.js';
import { healthService, inspectService, linkService } from './wire.js';

/** Plaintext is allowed only on loopback, as an explicit test setting (REQ-SEC-001). */
function isLoopback(listen: string): boolean {
  const host = listen.slice(0, listen.lastIndexOf(':')).replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function readConfig(): KubeletConfig {
  try {
    const config = readLaunchConfig(process.env.KD_LAUNCH_CONFIG);
    if (!isLoopback(config.listen)) throw new LaunchConfigError(`launch config: plaintext gRPC refuses the non-loopback address ${config.listen}`);
    return config;
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(2);
  }
}

async function main(): Promise<void> {
  const config = readConfig();
  const log = logger(config.stage);
  const incarnation = startNextIncarnation(config.dataDir);
  log('incarnation.started', { incarnation });

  const runtime = new SimulatedSandboxRuntime(config.dataDir, config);
  const kubelet = new Kubelet(config.capacity, new Set(config.functions.keys()), runtime, log);
  kubelet.boot();
  const link = new LinkServer({ upstreamStage: config.upstreamStage, ownStage: config.stage, node: config.node }, kubelet, log);
  runtime.run((reports) => link.notify(kubelet.applyReports(reports)));

  const server = new grpc.Server({
    // Larger than frameBytesMax, so that an oversized frame gets BATCH_TOO_LARGE from us.
    'grpc.max_receive_message_length': 2 * frameBytesMax,
    // Dead-peer detection (REQ-WIRE-010).
    'grpc.keepalive_time_ms': linkDeadMsMax / 2,
    'grpc.keepalive_timeout_ms': linkDeadMsMax / 2,
  });
  server.addService(linkService, { Session: link.handle });
  server.addService(inspectService, inspectHandlers({ stage: config.stage, incarnation }, kubelet, link));
  server.addService(healthService, healthHandlers());
  await new Promise<number>((resolve, reject) =>
    server.bindAsync(config.listen, grpc.ServerCredentials.createInsecure(), (error, port) => (error === null ? resolve(port) : reject(error))),
  );
  log('serving', { listen: config.listen });

  process.on('SIGTERM', () => {
    // The sandboxes stay: a Kubelet restart must not touch them (REQ-FAIL-003).
    log('stopping', { signal: 'SIGTERM' });
    runtime.stop();
    server.forceShutdown();
    process.exit(0);
  });
}

main().catch((error: unknown) => {
  // Fail-stop (REQ-FAIL-008): a broken assertion or a failed durable write ends the process.
  process.stderr.write(`kubelet-minimal: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
