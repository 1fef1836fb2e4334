/**
 * The whole chain of machines in one thread, with instant delivery and instant
 * sandboxes: the machines' own cost of a burst, without I/O. Every message goes to the
 * other end of its link in FIFO order, every `sandbox.start` succeeds at once. This is
 * the floor under what the runtime can reach (the runtime adds the wire, the sockets
 * and the traces).
 */
import { initStage, kubeletId, linkEnds, linksOf, podCacheOf, stagesOf, stepStage, type ChainConfig, type StageEvent, type StageId, type StageState, type StepResult } from '../../machines/index.js';

export interface PumpRun {
  readonly pods: number;
  readonly functions: number;
  readonly nodes: number;
  /** Stage steps from the scale requests until nothing is left to deliver. */
  readonly steps: number;
  /** CPU time of the burst (user + system), ms. */
  readonly cpuMs: number;
  /** Time in the steps of each role, ms (wall clock, single thread). */
  readonly msByRole: Record<string, number>;
}

export function chainConfigOf(functions: number, nodes: number, capacity: number): ChainConfig {
  return {
    variant: 'correct',
    functions: Array.from({ length: functions }, (_, i) => ({ name: functions === 1 ? 'fn' : `fn${String(i).padStart(3, '0')}`, priority: 0 })),
    nodes: Array.from({ length: nodes }, (_, i) => ({ name: `n${i + 1}`, capacity })),
  };
}

/** Called after every step, in order (bench:observe keeps them to replay). */
export type StepListener = (stage: StageId, event: StageEvent, result: StepResult<StageState>) => void;

/** The chain booted (every link connected) on construction; `request` then `run` delivers a scale request through it. */
export class ChainPump {
  private readonly states = new Map<StageId, StageState>();
  private readonly queue: Array<readonly [StageId, StageEvent]> = [];
  readonly msByRole = new Map<string, number>();
  steps = 0;

  constructor(
    readonly config: ChainConfig,
    private readonly onStep: StepListener | null = null,
  ) {
    for (const stage of stagesOf(config)) this.states.set(stage, initStage(config, stage, { incarnation: 1 }));
    for (const link of linksOf(config)) this.queue.push([linkEnds(link).upstream, { type: 'link.connected', link }]);
    this.run();
  }

  request(fn: string, desired: number): void {
    this.queue.push(['autoscaler', { type: 'scale.requested', function: fn, desired }]);
  }

  /** Delivers until nothing is left. */
  run(): void {
    for (let next = 0; next < this.queue.length; next++) {
      const [stage, event] = this.queue[next] as readonly [StageId, StageEvent];
      // Per role by the clock: a CPU-time reading per step would cost more than many steps.
      const before = performance.now();
      const result = stepStage(this.config, stage, this.states.get(stage) as StageState, event);
      const role = stage.startsWith('kubelet') ? 'kubelet' : stage;
      this.msByRole.set(role, (this.msByRole.get(role) ?? 0) + performance.now() - before);
      this.steps++;
      this.states.set(stage, result.state);
      this.onStep?.(stage, event, result);
      for (const effect of result.effects) {
        if (effect.type === 'message.send') {
          const { upstream, downstream } = linkEnds(effect.link);
          this.queue.push([upstream === stage ? downstream : upstream, { type: 'message.received', link: effect.link, message: effect.message }]);
        } else if (effect.type === 'sandbox.start') this.queue.push([stage, { type: 'sandbox.started', pod: effect.pod.name }]);
        else if (effect.type === 'sandbox.kill') this.queue.push([stage, { type: 'sandbox.killed', pod: effect.pod.name }]);
      }
    }
    this.queue.length = 0;
  }

  running(): number {
    let running = 0;
    for (const node of this.config.nodes) running += podCacheOf(this.states.get(kubeletId(node.name)) as StageState).countIn('running');
    return running;
  }
}

/** One burst from 0 to `pods` pods (spread over the functions) on a freshly booted chain. */
export function pumpBurst(pods: number, functions: number, nodes: number): PumpRun {
  const config = chainConfigOf(functions, nodes, Math.ceil(pods / nodes) + 1);
  const pump = new ChainPump(config);
  const started = process.cpuUsage();
  pump.msByRole.clear();
  const stepsBefore = pump.steps;
  config.functions.forEach((f, i) => pump.request(f.name, Math.floor(pods / functions) + (i < pods % functions ? 1 : 0)));
  pump.run();
  const used = process.cpuUsage(started);
  const running = pump.running();
  if (running !== pods) throw new Error(`the burst ended with ${running} pods running, not ${pods}`);
  return {
    pods,
    functions,
    nodes,
    steps: pump.steps - stepsBefore,
    cpuMs: (used.user + used.system) / 1000,
    msByRole: Object.fromEntries(pump.msByRole),
  };
}
