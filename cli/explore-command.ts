/** `kd explore`: a local web page over the chain model, to step through its states by hand. */
import { ConfigError, loadCheckConfig } from '../checker/chain/config-file.js';
import { presetNames } from '../checker/chain/presets.js';
import { buildClientAssets } from '../explorer/client-assets.js';
import { Exploration } from '../explorer/exploration.js';
import { startExplorerServer, type ExplorerServer } from '../explorer/http-server.js';
import { readTraceFile, resolveTrace, TraceFileError } from '../explorer/trace-file.js';
import type { TraceInfo } from '../explorer/view.js';
import { variantNames, type ProtocolVariant } from '../spec/variants.js';
import { helpOf, parseCommandLine, UsageError, type CommandLineSpec } from './args.js';
import { exitCodes } from './exit-codes.js';

export const explorePortDefault = 8090;

export const exploreCommandLine = {
  command: 'explore',
  about: `Serves a page on 127.0.0.1 to explore the chain model of kd check by hand: the state of
every stage (sessions and epochs, caches, desired counts, sandboxes), the messages in
flight on each link, the enabled actions as buttons, each property's status and which
action would break one. The path taken is in the page's address: reload it or share it
to see the same state. Works offline. Stop it with Ctrl-C.`,
  options: {
    preset: { kind: 'text', value: 'NAME|FILE', help: `${presetNames().join(', ')} (default smoke), or a .json/.yaml config (as kd check)` },
    variant: { kind: 'choice', value: 'NAME', choices: variantNames, help: 'a known-bad variant' },
    trace: { kind: 'text', value: 'FILE', help: 'open a counterexample written by kd check (its .json) and step through it; the preset and variant are the trace\'s own' },
    port: { kind: 'whole', value: 'N', min: 0, max: 65_535, default: explorePortDefault, help: 'port on 127.0.0.1 (0 for any free port)' },
  },
  example: 'npx kd explore --trace out/counterexamples/ci-no-fencing-INV-FENCING.json',
  exits: { ok: 'stopped by Ctrl-C' },
  epilogue: `Example:
  kd check --preset ci --variant no-fencing --out out/counterexamples
  kd explore --trace out/counterexamples/ci-no-fencing-INV-FENCING.json`,
} as const satisfies CommandLineSpec;

interface ExploreArguments {
  readonly preset: string | undefined;
  readonly variant: ProtocolVariant | undefined;
  readonly trace: string | undefined;
  readonly port: number;
}

function parseExploreArguments(argv: readonly string[]): ExploreArguments | 'help' {
  const parsed = parseCommandLine(exploreCommandLine, argv);
  if (parsed === 'help') return 'help';
  const v = parsed.options;
  if (v.trace !== undefined && (v.preset !== undefined || v.variant !== undefined)) {
    throw new UsageError('--trace opens the preset and variant recorded in the trace: drop --preset and --variant');
  }
  return { preset: v.preset, variant: v.variant, trace: v.trace, port: v.port };
}

function openModel(args: ExploreArguments): { exploration: Exploration; trace: TraceInfo | null } {
  if (args.trace !== undefined) {
    try {
      const trace = readTraceFile(args.trace);
      const exploration = new Exploration(trace.check);
      return { exploration, trace: resolveTrace(args.trace, trace, exploration.model) };
    } catch (error) {
      if (error instanceof TraceFileError) throw new UsageError(error.message);
      throw error;
    }
  }
  try {
    return { exploration: new Exploration(loadCheckConfig(args.preset ?? 'smoke', args.variant ?? 'correct')), trace: null };
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message);
    throw error;
  }
}

async function listen(args: ExploreArguments, opened: ReturnType<typeof openModel>): Promise<ExplorerServer> {
  const assets = await buildClientAssets();
  try {
    return await startExplorerServer({
      ...opened,
      assets,
      port: args.port,
      onInternalError: (error) => process.stderr.write(`kd explore: internal error answering a request: ${error.stack ?? error.message}\n`),
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new UsageError(`port ${args.port} on 127.0.0.1 is in use: choose another with --port N, or --port 0 for any free port`);
    if (code === 'EACCES') throw new UsageError(`port ${args.port} needs privileges: choose one from 1024 with --port N, or --port 0`);
    throw error;
  }
}

export async function runExplore(argv: readonly string[], print: (line: string) => void): Promise<number> {
  const args = parseExploreArguments(argv);
  if (args === 'help') {
    print(helpOf(exploreCommandLine));
    return exitCodes.ok;
  }
  const opened = openModel(args);
  const server = await listen(args, opened);
  const check = opened.exploration.check;
  const what = opened.trace === null ? '' : `, counterexample ${opened.trace.file} (${opened.trace.property}, ${opened.trace.steps.length} steps)`;
  print(`kd explore: preset ${check.name}, variant ${check.chain.variant}${what}`);
  print(`open ${server.url}`);
  print('stop with Ctrl-C');
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await server.close();
  return exitCodes.ok;
}
