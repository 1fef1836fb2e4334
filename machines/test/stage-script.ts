/**
 * Stage scripts (machines/stages/testdata/*.txt), in the style of etcd raft's
 * `testdata/`: each block is one command, a `----` line, and what the command gave, as
 * text. A command steps one stage with one event (or prints its state); the output is
 * the step's disposition, link intents, effects and trace. The runner
 * (stage-scripts.test.ts) compares the text, so a behaviour change shows up as a
 * readable diff; `KD_REWRITE_STAGE_SCRIPTS=1` writes the new outputs instead.
 *
 * Commands:
 *   config variant=V functions=fn:PRIORITY,... nodes=NAME:CAPACITY,...   (before init)
 *   init STAGE incarnation=N [desired=fn:N,...] [inventory=POD:starting|POD:running|POD:killing^ORIGIN,...]
 *   connect LINK | lose LINK
 *   recv LINK MESSAGE        a message arrives on LINK (MESSAGE as printed by `send`)
 *   scale FUNCTION DESIRED   a request at the Autoscaler
 *   sandbox started|failed|killed POD-NAME
 *   state                    the stage's state, one line per part
 * A pod is written NAME/FUNCTION/PRIORITY/NODE (NODE `-` when unbound); an epoch I.S is
 * session S of incarnation I.
 */
import { describeEpoch, epochOf, initStage, stepStage, type ChainConfig, type LinkMessage, type StageEvent, type StageId, type StageState, type StepResult } from '../index.js';
import type { Role } from '../core/ids.js';
import type { AlivePod, PodRecord, ScaleRecord, TombstoneRecord } from '../core/records.js';
import type { SandboxInventoryItem } from '../stages/kubelet.js';
import { PodCache } from '../stages/pod-cache.js';

export interface ScriptBlock {
  readonly command: string;
  readonly output: string;
}

/** Splits a script into its comments-and-blank preamble lines and its blocks. */
export function parseScript(text: string): ScriptBlock[] {
  const blocks: ScriptBlock[] = [];
  const lines = text.split('\n');
  let i = 0;
  while (i < lines.length) {
    const line = lines[i] as string;
    if (line.trim() === '' || line.startsWith('#')) {
      i++;
      continue;
    }
    if (lines[i + 1] !== '----') throw new Error(`line ${i + 1}: "${line}" is not followed by a ---- line`);
    const output: string[] = [];
    i += 2;
    while (i < lines.length && (lines[i] as string) !== '') output.push(lines[i++] as string);
    blocks.push({ command: line, output: output.join('\n') });
  }
  return blocks;
}

/** A script with the outputs given (comments kept, one blank line between blocks). */
export function renderScript(original: string, outputs: readonly string[]): string {
  const out: string[] = [];
  const lines = original.split('\n');
  let block = 0;
  let i = 0;
  while (i < lines.length) {
    const line = lines[i] as string;
    if (line.trim() === '' || line.startsWith('#')) {
      out.push(line);
      i++;
      continue;
    }
    out.push(line, '----', ...(outputs[block] === '' ? [] : [outputs[block] as string]));
    block++;
    i += 2;
    while (i < lines.length && (lines[i] as string) !== '') i++;
  }
  return out.join('\n');
}

// ---------------------------------------------------------------- message text

const parseEpoch = (text: string): number => {
  const [incarnation, session] = text.split('.').map(Number);
  return epochOf(incarnation as number, session as number);
};

export function formatPod(record: PodRecord): string {
  return `${record.name}/${record.function}/${record.priority}/${record.node ?? '-'}`;
}

export function parsePod(text: string): PodRecord {
  const [name, fn, priority, node] = text.split('/');
  if (name === undefined || fn === undefined || priority === undefined || node === undefined) throw new Error(`not a pod NAME/FUNCTION/PRIORITY/NODE: ${text}`);
  return { name, function: fn, priority: Number(priority), node: node === '-' ? null : node };
}

const formatScale = (s: ScaleRecord): string => `${s.function}:${s.desired}`;
const parseScale = (text: string): ScaleRecord => {
  const [fn, desired] = text.split(':');
  return { function: fn as string, desired: Number(desired) };
};
const list = (text: string): string[] => (text === '' ? [] : text.split(','));

/** How each message field is written: by field name. */
const fieldCodecs: Record<string, { format: (value: never) => string; parse: (text: string) => unknown }> = {
  epoch: { format: (e: number) => describeEpoch(e), parse: parseEpoch },
  scale: { format: formatScale, parse: parseScale },
  pod: { format: formatPod, parse: parsePod },
  scales: { format: (s: readonly ScaleRecord[]) => s.map(formatScale).join(','), parse: (t) => list(t).map(parseScale) },
  pods: {
    format: (p: readonly AlivePod[]) => p.map((a) => `${formatPod(a.record)}:${a.phase}`).join(','),
    parse: (t) => list(t).map((a) => ({ record: parsePod(a.slice(0, a.lastIndexOf(':'))), phase: a.slice(a.lastIndexOf(':') + 1) })),
  },
  tombstones: {
    format: (p: readonly TombstoneRecord[]) => p.map((a) => `${formatPod(a.record)}^${a.origin}`).join(','),
    parse: (t) => list(t).map((a) => ({ record: parsePod(a.slice(0, a.indexOf('^'))), origin: a.slice(a.indexOf('^') + 1) })),
  },
};

export function formatMessage(message: LinkMessage): string {
  const fields = Object.entries(message).filter(([key]) => key !== 'type');
  return [message.type, ...fields.map(([key, value]) => `${key}=${fieldCodecs[key]?.format(value as never) ?? String(value)}`)].join(' ');
}

export function parseMessage(words: readonly string[]): LinkMessage {
  const [type, ...fields] = words;
  const message: Record<string, unknown> = { type };
  for (const field of fields) {
    const at = field.indexOf('=');
    const key = field.slice(0, at);
    const text = field.slice(at + 1);
    message[key] = fieldCodecs[key]?.parse(text) ?? text;
  }
  return message as unknown as LinkMessage;
}

// ---------------------------------------------------------------- stepping

function formatStep(result: StepResult<StageState>): string {
  const lines = [`disposition ${result.disposition}`];
  if (result.rejection !== undefined) lines.push(`rejection ${result.rejection.reason}: ${result.rejection.message}`);
  for (const intent of result.links) lines.push(`${intent.kind} ${intent.link} ${describeEpoch(intent.epoch)}`);
  for (const effect of result.effects) {
    switch (effect.type) {
      case 'message.send':
        lines.push(`send ${effect.link} ${formatMessage(effect.message)}`);
        break;
      case 'sandbox.start':
      case 'sandbox.kill':
        lines.push(`${effect.type} ${formatPod(effect.pod)}`);
        break;
      case 'store.persist':
        lines.push(`store.persist ${effect.function}:${effect.desired}`);
        break;
    }
  }
  for (const t of result.trace) lines.push(`trace ${t.machine} ${t.pod}: ${t.from} --${t.event}--> ${t.to}`);
  return lines.join('\n');
}

/** The state, one line per part: sessions, then pods, then the rest as JSON. */
export function formatState(state: StageState): string {
  const lines: string[] = [];
  const side = (name: string, value: Record<string, unknown>): string =>
    `${name} ${String(value.session)} epoch=${describeEpoch(value.epoch as number)}` +
    ('syncedEpoch' in value ? ` synced-epoch=${describeEpoch(value.syncedEpoch as number)}` : ` opened=${String(value.sessionsOpened)} ever-synced=${String(value.everSynced)}`);
  for (const [key, value] of Object.entries(state)) {
    if (key === 'role') continue;
    if (value instanceof PodCache) {
      for (const entry of value.entries()) lines.push(`pod ${formatPod(entry.record)} ${entry.lifecycle}${entry.origin === null ? '' : ` origin=${entry.origin}`}`);
      if (value.size === 0) lines.push('pods none');
    } else if (typeof value === 'object' && value !== null && 'session' in value) lines.push(side(key, value as Record<string, unknown>));
    else if (key === 'toKubelets') for (const [node, s] of Object.entries(value as object)) lines.push(side(`${key}.${node}`, s as Record<string, unknown>));
    else lines.push(`${key} ${JSON.stringify(value)}`);
  }
  return lines.join('\n');
}

/** A sandbox found at boot: POD:starting, POD:running, or POD:killing^ORIGIN (the origin of its tombstone). */
function parseInventoryItem(item: string): SandboxInventoryItem {
  const [pod, state] = [item.slice(0, item.lastIndexOf(':')), item.slice(item.lastIndexOf(':') + 1)];
  const [lifecycle, origin] = state.split('^');
  return { pod: parsePod(pod), state: lifecycle as SandboxInventoryItem['state'], ...(origin === undefined ? {} : { origin: origin as Role }) };
}

const namedArgs = (words: readonly string[]): Record<string, string> => Object.fromEntries(words.map((w) => [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)]));

/** Runs a script's commands in order on one stage; returns each command's output. */
export function runScript(blocks: readonly ScriptBlock[]): string[] {
  let config: ChainConfig = { variant: 'correct', functions: [{ name: 'fn', priority: 0 }], nodes: [{ name: 'n1', capacity: 2 }] };
  let stage: StageId | null = null;
  let state: StageState | null = null;
  const outputs: string[] = [];
  const step = (event: StageEvent): string => {
    if (stage === null || state === null) throw new Error(`${event.type} before init`);
    const result = stepStage(config, stage, state, event);
    state = result.state;
    return formatStep(result);
  };
  for (const { command } of blocks) {
    const [verb, ...words] = command.trim().split(/\s+/);
    switch (verb) {
      case 'config': {
        const args = namedArgs(words);
        config = {
          variant: (args.variant ?? config.variant) as ChainConfig['variant'],
          functions: args.functions === undefined ? config.functions : list(args.functions).map((f) => ({ name: f.split(':')[0] as string, priority: Number(f.split(':')[1]) })),
          nodes: args.nodes === undefined ? config.nodes : list(args.nodes).map((n) => ({ name: n.split(':')[0] as string, capacity: Number(n.split(':')[1]) })),
        };
        outputs.push('ok');
        break;
      }
      case 'init': {
        const [id, ...rest] = words;
        const args = namedArgs(rest);
        const inventory = list(args.inventory ?? '').map(parseInventoryItem);
        const durableDesired = Object.fromEntries(list(args.desired ?? '').map((d) => [d.split(':')[0], Number(d.split(':')[1])]));
        stage = id as StageId;
        state = initStage(config, stage, { incarnation: Number(args.incarnation ?? 1), durableDesired, inventory });
        outputs.push(formatState(state));
        break;
      }
      case 'connect':
        outputs.push(step({ type: 'link.connected', link: words[0] as string }));
        break;
      case 'lose':
        outputs.push(step({ type: 'link.lost', link: words[0] as string }));
        break;
      case 'recv':
        outputs.push(step({ type: 'message.received', link: words[0] as string, message: parseMessage(words.slice(1)) }));
        break;
      case 'scale':
        outputs.push(step({ type: 'scale.requested', function: words[0] as string, desired: Number(words[1]) }));
        break;
      case 'sandbox':
        outputs.push(step({ type: `sandbox.${words[0]}` as 'sandbox.started', pod: words[1] as string }));
        break;
      case 'state':
        if (state === null) throw new Error('state before init');
        outputs.push(formatState(state));
        break;
      default:
        throw new Error(`unknown command "${verb}" in: ${command}`);
    }
  }
  return outputs;
}
