/**
 * Runs cases against one testee: a fresh scratch directory, free ports, a launch config,
 * the reference peers and a fresh testee process per case (so every case starts from a
 * new stage and replays from its seed), then the verdict of each case.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kubeletId, linkEnds, linksOf, roleOf, type ChainConfig, type Role, type StageId } from '../../machines/index.js';
import type { LaunchConfig, LaunchPeer } from '../../runtime/launch-config.js';
import { defaultChain, levelOf, type CaseLevel, type ConformanceCase } from '../cases/case.js';
import { CaseContext, CaseSkipped } from './context.js';
import { HarnessError, portAccepts, stopMsMax, TesteeProcess } from './launch.js';
import { launchContractStop } from './context.js';
import { PeerChain } from './peer-chain.js';
import { freePort } from './ports.js';
import { SeededRandom as Random } from '../../simulator/random.js';
import { RunLog, type Violation } from './run-log.js';

export type TesteeSpec =
  | { readonly kind: 'command'; readonly command: string; readonly label: string }
  | { readonly kind: 'attach'; readonly address: string };

export type CaseStatus = 'passed' | 'failed' | 'skipped' | 'error';

export interface CaseResult {
  readonly id: string;
  readonly title: string;
  readonly level: CaseLevel;
  readonly requirements: readonly string[];
  readonly status: CaseStatus;
  readonly durationMs: number;
  /** The seed of this case (derived from the run's seed and the case ID). */
  readonly seed: number;
  readonly violations: readonly Violation[];
  /** Why the case was skipped or could not run. */
  readonly reason?: string;
  readonly stderrTail?: string;
}

export interface CaseRun {
  readonly result: CaseResult;
  readonly log: RunLog;
  readonly participants: readonly string[];
}

export const caseTimeoutMsDefault = 20_000;

/** The case's own seed: the same for `--case ID --seed N` as inside the whole run. */
export function caseSeed(runSeed: number, caseId: string): number {
  let h = runSeed >>> 0 ^ 0x9e3779b9;
  for (let i = 0; i < caseId.length; i++) h = Math.imul(h ^ caseId.charCodeAt(i), 0x01000193) >>> 0;
  return h >>> 0;
}

/** The testee's stage for a role: Kubelets are `kubelet:n1`. */
export function testeeStageOf(role: Role): StageId {
  return role === 'kubelet' ? kubeletId('n1') : role;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new CaseTimeout(`${what} did not finish within ${ms / 1000} s`)), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

class CaseTimeout extends Error {}

export interface RunCaseOptions {
  readonly role: Role;
  readonly testee: TesteeSpec;
  readonly runSeed: number;
  /** With --attach: the position of the case in the run (its peers' incarnations start above every earlier case's). */
  readonly caseIndex?: number;
  /** Where scratch directories go (removed after the case). */
  readonly scratchRoot?: string;
}

export async function runCase(c: ConformanceCase, options: RunCaseOptions): Promise<CaseRun> {
  const started = Date.now();
  const seed = caseSeed(options.runSeed, c.id);
  const random = new Random(seed);
  const role = options.role;
  const stage = testeeStageOf(role);
  const log = new RunLog();
  const base = { id: c.id, title: c.title, level: levelOf(c), requirements: c.requirements, seed };
  const shape = c.chain ?? defaultChain(role);
  const chainConfig: ChainConfig = { functions: shape.functions, nodes: shape.nodes, variant: 'correct' };
  const scratch = mkdtempSync(join(options.scratchRoot ?? tmpdir(), `kd-conformance-${c.id.replace(/[^a-z0-9-]/g, '-')}-`));
  const participants = new Set<string>();
  let testee: TesteeProcess | null = null;
  let chain: PeerChain | null = null;
  let keepScratch = false;
  let launchListen: string | null = null;
  const finish = (status: CaseStatus, extra: Partial<CaseResult> = {}): CaseRun => ({
    result: { ...base, status, durationMs: Date.now() - started, violations: log.violations, ...extra },
    log,
    participants: [...participants],
  });
  try {
    if (options.testee.kind === 'attach' && c.restartsTestee === true) return finish('skipped', { reason: 'restarts the testee, which --attach cannot do' });
    if (options.testee.kind === 'attach' && (c.chain !== undefined || c.sandbox !== undefined || c.setup !== undefined))
      return finish('skipped', { reason: 'needs its own configuration or a fresh start of the testee, which --attach cannot give' });
    const listen = options.testee.kind === 'attach' ? options.testee.address : `127.0.0.1:${await freePort()}`;
    if (options.testee.kind === 'command') launchListen = listen;
    const peerAddresses: Record<StageId, string> = {};
    const peerOf = (s: StageId): LaunchPeer => ({ stage: s, role: roleOf(s), address: peerAddresses[s] ?? '' });
    let upstream: StageId | null = null;
    const downstreams: StageId[] = [];
    for (const link of linksOf(chainConfig)) {
      const ends = linkEnds(link);
      if (ends.downstream === stage) upstream = ends.upstream;
      if (ends.upstream === stage) downstreams.push(ends.downstream);
    }
    const attach = options.testee.kind === 'attach' ? attachPorts(options.testee.address) : null;
    for (const [i, d] of downstreams.entries()) peerAddresses[d] = attach === null ? `127.0.0.1:${await freePort()}` : `127.0.0.1:${attach + 1 + i}`;
    if (upstream !== null) peerAddresses[upstream] = `127.0.0.1:${await freePort()}`; // unused by the suite: the testee never dials its upstream
    const sandbox = c.sandbox ?? (attach === null ? { startDelayMs: random.int(2, 10), killDelayMs: random.int(2, 10) } : attachSandbox);
    const launch: LaunchConfig = {
      launchVersion: 1,
      role,
      stage,
      ...(role === 'kubelet' ? { node: 'n1' } : {}),
      listen,
      dataDir: join(scratch, 'testee', 'data'),
      upstream: upstream === null ? null : peerOf(upstream),
      downstreams: downstreams.map(peerOf),
      chain: { functions: shape.functions, nodes: shape.nodes },
      sandbox,
    };
    chain = new PeerChain({ chain: chainConfig, testee: stage, testeeAddress: listen, peerAddresses, sandbox: { startDelayMs: random.int(2, 10), killDelayMs: random.int(2, 10) }, log, reconnectDelayMs: 30, incarnationBase: 1 + (options.caseIndex ?? 0) * 8 });
    participants.add(stage);
    for (const s of chain.states.keys()) participants.add(s);
    await chain.start();
    c.setup?.(chain);
    if (options.testee.kind === 'command') {
      testee = new TesteeProcess({ command: options.testee.command, launch, dir: join(scratch, 'testee') });
      await testee.start();
    }
    chain.connectTestee();
    const ctx = new CaseContext(role, stage, launch, chain, log, random, testee);
    await withTimeout(c.run(ctx), c.timeoutMs ?? caseTimeoutMsDefault, `case ${c.id}`);
    if (testee !== null) keepScratch = !(await stopAndCheck(testee, listen, log));
    const failed = log.violations.length > 0;
    return finish(failed ? 'failed' : 'passed', failed && testee !== null ? { stderrTail: testee.stderrTail(30) } : {});
  } catch (error) {
    if (error instanceof CaseSkipped) return finish('skipped', { reason: error.message });
    if (error instanceof CaseTimeout) {
      log.violation(c.requirements, error.message);
      return finish('failed', testee === null ? {} : { stderrTail: testee.stderrTail(30) });
    }
    const message = error instanceof HarnessError ? error.message : `harness error: ${(error as Error).stack ?? String(error)}`;
    return finish('error', { reason: message });
  } finally {
    await chain?.stop().catch(() => undefined);
    await testee?.stopCompletely().catch(() => undefined);
    // Never delete the data directory of a testee that may still run (its port still open after the stop).
    if (testee !== null && launchListen !== null && !keepScratch) keepScratch = await portAccepts(launchListen);
    for (let attempt = 0; attempt < 3 && !keepScratch; attempt++) {
      try {
        rmSync(scratch, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
        break;
      } catch {
        // a file still being written by a process that is dying: try again shortly
        await new Promise((r) => setTimeout(r, 300));
      }
    }
  }
}

/**
 * The end of a case: SIGTERM to the testee, which must exit within 5 s (launch contract 5;
 * SIGKILL after that, reported as a failure), and must not leave its port open. Returns
 * whether the testee is gone, so that its scratch directory may be deleted.
 */
async function stopAndCheck(testee: TesteeProcess, listen: string, log: RunLog): Promise<boolean> {
  log.beginStep('stop the testee (SIGTERM)');
  const started = Date.now();
  const inTime = await testee.stopCompletely();
  log.add({ kind: 'note', from: 'suite', to: 'testee', summary: inTime ? `the testee stopped ${Date.now() - started} ms after SIGTERM` : 'the testee was killed with SIGKILL' });
  if (!inTime) log.violation([launchContractStop], `the testee did not stop within ${stopMsMax / 1000} s of SIGTERM (its process exited and its port ${listen} closed) and was killed with SIGKILL`);
  let open = await portAccepts(listen);
  for (const deadline = Date.now() + 1_000; open && Date.now() < deadline; open = await portAccepts(listen)) await new Promise((r) => setTimeout(r, 50));
  if (open) log.violation([launchContractStop], `${listen} still accepts connections after SIGKILL of the testee's process group: a process the testee started outside its group still runs; its scratch directory is left in place`);
  return !open;
}

/** With --attach, the suite's peers listen on the ports after the testee's (testee port + 1, + 2, ...). */
function attachPorts(address: string): number {
  return Number(address.slice(address.lastIndexOf(':') + 1));
}

const attachSandbox = { startDelayMs: 5, killDelayMs: 5 };

/** The launch config an operator must give a stage before `kd conformance --attach HOST:PORT` (printed by the suite). */
export function attachLaunchConfig(role: Role, address: string, dataDir: string): LaunchConfig {
  const stage = testeeStageOf(role);
  const shape = defaultChain(role);
  const chainConfig: ChainConfig = { functions: shape.functions, nodes: shape.nodes, variant: 'correct' };
  const base = attachPorts(address);
  let upstream: LaunchPeer | null = null;
  const downstreams: LaunchPeer[] = [];
  for (const link of linksOf(chainConfig)) {
    const ends = linkEnds(link);
    if (ends.downstream === stage) upstream = { stage: ends.upstream, role: roleOf(ends.upstream), address: '127.0.0.1:1' };
    if (ends.upstream === stage) downstreams.push({ stage: ends.downstream, role: roleOf(ends.downstream), address: `127.0.0.1:${base + 1 + downstreams.length}` });
  }
  return { launchVersion: 1, role, stage, ...(role === 'kubelet' ? { node: 'n1' } : {}), listen: address, dataDir, upstream, downstreams, chain: { functions: shape.functions, nodes: shape.nodes }, sandbox: attachSandbox };
}

export function ensureDir(dir: string): string {
  mkdirSync(dir, { recursive: true });
  return dir;
}
