/**
 * The testee as a process, started per the launch contract (spec/11-conformance.md):
 * `/bin/sh -c COMMAND` from the directory the suite runs in, KD_LAUNCH_CONFIG set to the launch
 * config's absolute path, stdout and stderr kept in files, readiness by
 * `grpc.health.v1.Health/Check` answering SERVING within readinessMsMax.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { LaunchConfig } from '../../runtime/launch-config.js';
import { checkHealth } from './health.js';

/** How long the suite waits for a launched testee to answer SERVING (spec/11). */
export const readinessMsMax = 30_000;
/** How long a testee may take to stop after SIGTERM (spec/11). */
export const stopMsMax = 5_000;

/** A failure of the suite or of the testee's launch: exit code 2, never a verdict on the testee. */
export class HarnessError extends Error {
  override readonly name = 'HarnessError';
}

export interface TesteeProcessOptions {
  readonly command: string;
  readonly launch: LaunchConfig;
  /** The scratch directory: the launch config, the logs and the data directory live here. */
  readonly dir: string;
  /** The testee's working directory: where the suite was started, so that relative paths in the command work (spec/11). */
  readonly cwd?: string;
  readonly readinessMs?: number;
}

export class TesteeProcess {
  readonly launchConfigPath: string;
  private child: ChildProcess | null = null;
  private exited: Promise<number | null> = Promise.resolve(null);
  private starts = 0;
  /** Notes for the report (a slow stop, a kill needed at stop). */
  readonly notes: string[] = [];

  constructor(private readonly options: TesteeProcessOptions) {
    mkdirSync(options.dir, { recursive: true });
    mkdirSync(options.launch.dataDir, { recursive: true });
    this.launchConfigPath = join(options.dir, 'launch.json');
    writeFileSync(this.launchConfigPath, `${JSON.stringify(options.launch, null, 2)}\n`);
  }

  get stderrPath(): string {
    return join(this.options.dir, 'testee.stderr.log');
  }

  get stdoutPath(): string {
    return join(this.options.dir, 'testee.stdout.log');
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts the command and waits for readiness; a HarnessError if it exits or is not ready in time. */
  async start(): Promise<void> {
    if (this.running) throw new HarnessError('the testee is already running');
    this.starts += 1;
    const out = openSync(this.stdoutPath, 'a');
    const err = openSync(this.stderrPath, 'a');
    const child = spawn('/bin/sh', ['-c', this.options.command], {
      cwd: this.options.cwd ?? process.cwd(),
      env: { ...process.env, KD_LAUNCH_CONFIG: this.launchConfigPath },
      stdio: ['ignore', out, err],
      detached: true,
    });
    closeSync(out);
    closeSync(err);
    this.child = child;
    let exitCode: number | null | undefined;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        exitCode = code ?? (signal === null ? null : 128);
        resolve(exitCode);
      });
      child.once('error', () => resolve(null));
    });
    const deadline = Date.now() + (this.options.readinessMs ?? readinessMsMax);
    let last = 'no answer yet';
    while (Date.now() < deadline) {
      if (exitCode !== undefined)
        throw new HarnessError(`the testee exited (status ${String(exitCode)}) before it was ready (start ${this.starts}); its stderr ends with:\n${this.stderrTail()}`);
      if (!(await portAccepts(this.options.launch.listen))) {
        last = 'the port does not accept connections yet';
        await new Promise((r) => setTimeout(r, 25));
        continue;
      }
      const answer = await checkHealth(this.options.launch.listen, 1_000);
      if ('status' in answer && answer.status === 'SERVING') return;
      last = 'status' in answer ? `status ${answer.status}` : `${answer.error.code} ${answer.error.details}`;
      await new Promise((r) => setTimeout(r, 50));
    }
    await this.kill();
    throw new HarnessError(
      `the testee did not answer grpc.health.v1.Health/Check with SERVING on ${this.options.launch.listen} within ${Math.round((this.options.readinessMs ?? readinessMsMax) / 1000)} s (last: ${last}); its stderr ends with:\n${this.stderrTail()}`,
    );
  }

  /** SIGKILL to the testee's process group (the crash of spec/11 item 5). */
  async kill(): Promise<void> {
    const child = this.child;
    if (child === null || !this.running) return;
    try {
      process.kill(-(child.pid ?? 0), 'SIGKILL');
    } catch {
      child.kill('SIGKILL');
    }
    await this.exited;
  }

  /** SIGTERM, then SIGKILL after stopMsMax. True when the testee stopped by itself in time (or was not running), false when it had to be killed. */
  async stop(): Promise<boolean> {
    const child = this.child;
    if (child === null || !this.running) return true;
    try {
      process.kill(-(child.pid ?? 0), 'SIGTERM');
    } catch {
      child.kill('SIGTERM');
    }
    const stopped = await Promise.race([this.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), stopMsMax))]);
    if (!stopped) {
      this.notes.push(`the testee did not stop within ${stopMsMax / 1000} s of SIGTERM and was killed`);
      await this.kill();
    }
    return stopped;
  }

  /**
   * SIGTERM, then waits until the process has exited and its port is closed (the shell
   * may exit before the program it started); SIGKILL to the whole group once stopMsMax
   * has passed. True when the testee stopped in time by itself.
   */
  async stopCompletely(): Promise<boolean> {
    const started = Date.now();
    let inTime = await this.stop();
    while (inTime && (await portAccepts(this.options.launch.listen))) {
      if (Date.now() - started >= stopMsMax) {
        inTime = false;
        this.killGroup();
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return inTime;
  }

  /** SIGKILL to the testee's whole process group, even when the shell that started it has already exited. */
  killGroup(): void {
    const pid = this.child?.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // the group is gone
    }
  }

  /** Kill and start again with the same launch config (a crash-restart). */
  async restart(): Promise<void> {
    await this.kill();
    await this.start();
  }

  stderrTail(lines = 20): string {
    try {
      return readFileSync(this.stderrPath, 'utf8').split('\n').slice(-lines - 1).join('\n');
    } catch {
      return '(no stderr)';
    }
  }
}

/** Whether something listens on host:port (a cheap probe before the gRPC health check; after a stop, whether the testee left its port open). */
export function portAccepts(address: string): Promise<boolean> {
  const at = address.lastIndexOf(':');
  const host = address.slice(0, at).replace(/^\[|\]$/g, '');
  const port = Number(address.slice(at + 1));
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.setTimeout(500, () => done(false));
  });
}
