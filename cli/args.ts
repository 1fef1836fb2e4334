/**
 * One command-line parser for every `kd` command and benchmark: a command declares its
 * arguments and options once ({@link CommandLineSpec}); the parser checks them (types,
 * ranges, choices, unknown or repeated options) and says what to pass instead, and the
 * same declaration writes the command's `--help` (options, defaults, exit codes).
 *
 * Rules: `--name value` or `--name=value`; a value may start with `-` (`--seed -1` is
 * refused by its range, not mistaken for an option); an argument that looks like a
 * negative number is an argument, not an option; `--` ends the options; `-h`/`--help`
 * anywhere asks for the help.
 */
import { exitCodeMeaningDefaults, exitCodes, type ExitCodeName } from './exit-codes.js';

/** A mistake in how a command was called: printed with the fix, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

interface OptionBase {
  /** One line (or a few) of help; the default is appended from `default`. */
  readonly help: string;
}
export interface FlagOption extends OptionBase {
  readonly kind: 'flag';
}
export interface TextOption extends OptionBase {
  readonly kind: 'text';
  /** The placeholder in the help: `--dir DIR`. */
  readonly value: string;
  readonly default?: string;
  /** May be given several times (or comma-separated); the values come as a list. */
  readonly repeatable?: boolean;
}
export interface WholeOption extends OptionBase {
  readonly kind: 'whole';
  readonly value: string;
  readonly min: number;
  readonly max: number;
  readonly default?: number;
  /** Another word the option also takes in place of a number (`--workers auto`). */
  readonly word?: string;
}
export interface ChoiceOption<C extends string = string> extends OptionBase {
  readonly kind: 'choice';
  readonly value: string;
  readonly choices: readonly C[];
  readonly default?: C;
}
export interface WholeListOption extends OptionBase {
  readonly kind: 'wholes';
  /** Comma-separated whole numbers, each within [min, max]: `--sizes 100,1000`. */
  readonly value: string;
  readonly min: number;
  readonly max: number;
  readonly default?: readonly number[];
}
export type OptionSpec = FlagOption | TextOption | WholeOption | ChoiceOption | WholeListOption;

export interface ArgumentSpec {
  /** The placeholder: FUNCTION, N, TRACE. */
  readonly name: string;
  readonly help: string;
  readonly kind: 'text' | 'whole';
  readonly min?: number;
  readonly max?: number;
  /** Takes every remaining argument (at least one unless `optional`). */
  readonly variadic?: boolean;
  readonly optional?: boolean;
}

export interface CommandLineSpec<O extends Readonly<Record<string, OptionSpec>> = Readonly<Record<string, OptionSpec>>> {
  /** The words after `kd` (or the benchmark's npm script): `scale`, `check`. */
  readonly command: string;
  /** The program that runs it, for help and errors (default `kd`). */
  readonly program?: string;
  /** Extra usage lines when the generated one does not say enough (alternatives). */
  readonly usage?: readonly string[];
  /** What the command does: prose, printed under the usage line. */
  readonly about: string;
  readonly arguments?: readonly ArgumentSpec[];
  readonly options: O;
  /** A call that works, quoted in error messages: `kd scale fn 50`. */
  readonly example: string;
  /** The exit codes the command uses, with their meaning here; usage and internal are implied. */
  readonly exits: Partial<Readonly<Record<ExitCodeName, string>>>;
  /** Text printed after the options (files written, next steps). */
  readonly epilogue?: string;
}

type ValueOf<S extends OptionSpec> = S extends FlagOption
  ? boolean
  : S extends TextOption
    ? S['repeatable'] extends true
      ? readonly string[]
      : S['default'] extends string
        ? string
        : string | undefined
    : S extends WholeOption
      ? (S['default'] extends number ? number : number | undefined) | (S['word'] extends string ? S['word'] : never)
      : S extends ChoiceOption<infer C>
        ? S['default'] extends string
          ? C
          : C | undefined
        : S extends WholeListOption
          ? S['default'] extends readonly number[]
            ? readonly number[]
            : readonly number[] | undefined
          : never;

export type OptionValues<O extends Readonly<Record<string, OptionSpec>>> = { readonly [K in keyof O]: ValueOf<O[K]> };

export interface ParsedCommandLine<O extends Readonly<Record<string, OptionSpec>>> {
  readonly options: OptionValues<O>;
  /** Named by ArgumentSpec.name (a variadic argument's values are in `list`). */
  readonly arguments: Readonly<Record<string, string | number | undefined>>;
  /** The values of a variadic argument. */
  readonly list: readonly string[];
  /** Which options were given on the command line (not defaulted). */
  readonly given: ReadonlySet<keyof O & string>;
}

const helpWords = new Set(['-h', '--help']);
const negativeNumber = /^-\d/;

/** Parses argv against spec; 'help' when -h/--help was given. Throws UsageError with the fix. */
export function parseCommandLine<O extends Readonly<Record<string, OptionSpec>>>(spec: CommandLineSpec<O>, argv: readonly string[]): ParsedCommandLine<O> | 'help' {
  if (argv.some((a) => helpWords.has(a))) return 'help';
  const raw = new Map<string, string[]>();
  const positionals: string[] = [];
  let optionsEnded = false;
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] ?? '';
    if (optionsEnded || !arg.startsWith('-') || arg === '-' || negativeNumber.test(arg)) {
      positionals.push(arg);
      continue;
    }
    if (arg === '--') {
      optionsEnded = true;
      continue;
    }
    const equals = arg.indexOf('=');
    const name = arg.slice(2, equals === -1 ? undefined : equals);
    const option = arg.startsWith('--') ? spec.options[name] : undefined;
    if (option === undefined) throw new UsageError(`${unknownOptionMessage(spec, arg.slice(0, equals === -1 ? undefined : equals))}`);
    if (raw.has(name) && !(option.kind === 'text' && option.repeatable === true)) throw new UsageError(`--${name} is given twice; give it once`);
    let value: string;
    if (option.kind === 'flag') {
      if (equals !== -1) throw new UsageError(`--${name} takes no value (drop "${arg.slice(equals)}")`);
      value = 'true';
    } else if (equals !== -1) {
      value = arg.slice(equals + 1);
    } else {
      const next = argv[i + 1];
      if (next === undefined) throw new UsageError(`--${name} needs a value: --${name} ${option.value}${exampleOf(option)}`);
      value = next;
      i += 1;
    }
    raw.set(name, [...(raw.get(name) ?? []), value]);
  }
  const options: Record<string, unknown> = {};
  for (const [name, option] of Object.entries(spec.options)) options[name] = optionValue(name, option, raw.get(name));
  const { named, list } = argumentValues(spec, positionals);
  return { options: options as OptionValues<O>, arguments: named, list, given: new Set([...raw.keys()]) as ReadonlySet<keyof O & string> };
}

function exampleOf(option: OptionSpec): string {
  if (option.kind === 'wholes') return ` (whole numbers from ${option.min} to ${option.max}, separated by commas)`;
  if (option.kind === 'whole') return ` (a whole number from ${option.min} to ${option.max}${option.word === undefined ? '' : `, or ${option.word}`})`;
  if (option.kind === 'choice') return ` (one of: ${option.choices.join(', ')})`;
  return '';
}

function unknownOptionMessage(spec: CommandLineSpec, given: string): string {
  const names = Object.keys(spec.options);
  const bare = given.replace(/^-+/, '');
  const near = names.filter((n) => n.startsWith(bare) || bare.startsWith(n) || editDistance(n, bare) <= 2);
  const suggestion = near.length > 0 ? ` Did you mean ${near.map((n) => `--${n}`).join(' or ')}?` : '';
  const options = names.length === 0 ? 'it takes no options' : `its options: ${names.map((n) => `--${n}`).join(', ')}`;
  return `unknown option ${given} (${options}).${suggestion} Run "${programOf(spec)} ${spec.command} --help".`;
}

function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const next = [i];
    for (let j = 1; j <= b.length; j += 1) next.push(Math.min((row[j] ?? 0) + 1, (next[j - 1] ?? 0) + 1, (row[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1)));
    row = next;
  }
  return row[b.length] ?? 0;
}

function programOf(spec: CommandLineSpec): string {
  return spec.program ?? 'kd';
}

function optionValue(name: string, option: OptionSpec, values: readonly string[] | undefined): unknown {
  const last = values?.[values.length - 1];
  switch (option.kind) {
    case 'flag':
      return last !== undefined;
    case 'text':
      if (option.repeatable === true) return (values ?? []).flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
      if (last === '') throw new UsageError(`--${name} needs a value that is not empty: --${name} ${option.value}`);
      return last ?? option.default;
    case 'whole':
      if (last === undefined) return option.default;
      if (option.word !== undefined && last === option.word) return last;
      return wholeNumber(`--${name}`, last, option.min, option.max, `--${name} ${option.default ?? option.min}`);
    case 'wholes': {
      if (last === undefined) return option.default;
      const parts = last.split(',');
      const example = `--${name} ${(option.default ?? [option.min, option.max]).join(',')}`;
      if (parts.some((p) => p.trim() === '')) throw new UsageError(`--${name} takes whole numbers separated by commas, got "${last}" (for example: ${example})`);
      return parts.map((p) => wholeNumber(`--${name}`, p, option.min, option.max, example));
    }
    case 'choice':
      if (last === undefined) return option.default;
      if (!option.choices.includes(last)) throw new UsageError(`--${name} must be one of ${option.choices.join(', ')}; got "${last}"`);
      return last;
  }
}

/** A whole number within [min, max] from text, or a UsageError naming `what` and an example call. */
export function wholeNumber(what: string, text: string, min: number, max: number, example: string): number {
  const trimmed = text.trim();
  if (!/^-?\d+$/.test(trimmed)) throw new UsageError(`${what} takes a whole number, got "${text}" (for example: ${example})`);
  const value = Number(trimmed);
  if (!Number.isSafeInteger(value) || value < min || value > max) throw new UsageError(`${what} must be from ${min} to ${max}, got ${trimmed}`);
  return value;
}

function argumentValues(spec: CommandLineSpec, positionals: readonly string[]): { named: Record<string, string | number | undefined>; list: string[] } {
  const specs = spec.arguments ?? [];
  const named: Record<string, string | number | undefined> = {};
  let list: string[] = [];
  let index = 0;
  for (const argument of specs) {
    if (argument.variadic === true) {
      list = positionals.slice(index);
      index = positionals.length;
      if (list.length === 0 && argument.optional !== true) throw new UsageError(`give at least one ${argument.name}, for example: ${spec.example}`);
      continue;
    }
    const text = positionals[index];
    index += 1;
    if (text === undefined) {
      if (argument.optional === true) continue;
      throw new UsageError(`${argument.name} is missing; ${usageLine(spec)} (for example: ${spec.example})`);
    }
    named[argument.name] = argument.kind === 'whole' ? wholeNumber(argument.name, text, argument.min ?? 0, argument.max ?? Number.MAX_SAFE_INTEGER, spec.example) : text;
  }
  if (index < positionals.length) {
    const extra = positionals.slice(index);
    throw new UsageError(
      specs.length === 0
        ? `takes no arguments, got ${extra.map((e) => `"${e}"`).join(' ')}${extra.some((e) => !e.startsWith('-')) ? ' (options start with --)' : ''}; for example: ${spec.example}`
        : `too many arguments: ${extra.map((e) => `"${e}"`).join(' ')}; ${usageLine(spec)}`,
    );
  }
  return { named, list };
}

function usageLine(spec: CommandLineSpec): string {
  const args = (spec.arguments ?? []).map((a) => {
    const word = a.variadic === true ? `${a.name}...` : a.name;
    return a.optional === true ? `[${word}]` : word;
  });
  // npm passes a script's options on only after `--`.
  const separator = spec.program === 'npm run' ? ' --' : '';
  return `usage: ${programOf(spec)} ${spec.command}${separator}${args.length > 0 ? ` ${args.join(' ')}` : ''}${Object.keys(spec.options).length > 0 ? ' [options]' : ''}`;
}

/** The `--help` text: usage, about, arguments, options with defaults, exit codes, epilogue. */
export function helpOf(spec: CommandLineSpec): string {
  const lines = [`Usage: ${usageLine(spec).slice('usage: '.length)}`, ...(spec.usage ?? []).map((u) => `       ${programOf(spec)} ${u}`), '', spec.about.trim(), ''];
  const rows: [string, string][] = [];
  for (const a of spec.arguments ?? []) rows.push([a.variadic === true ? `${a.name}...` : a.name, a.help]);
  if (rows.length > 0) lines.push('Arguments:', ...table(rows), '');
  const optionRows: [string, string][] = Object.entries(spec.options).map(([name, option]) => [
    option.kind === 'flag' ? `--${name}` : `--${name} ${option.value}`,
    `${option.help}${defaultOf(option)}`,
  ]);
  optionRows.push(['-h, --help', 'show this help']);
  lines.push('Options:', ...table(optionRows), '');
  if (spec.epilogue !== undefined) lines.push(spec.epilogue.trim(), '');
  lines.push('Exit codes:', ...table(exitCodeRows(spec.exits).map(([code, meaning]) => [String(code), meaning])));
  return lines.join('\n');
}

function defaultOf(option: OptionSpec): string {
  if (option.kind === 'choice') return `${option.default === undefined ? '' : ` (default ${option.default})`}\n${wrap(`one of: ${option.choices.join(', ')}`, helpColumnsMax)}`;
  if (option.kind === 'whole') return `${option.default === undefined ? '' : ` (default ${option.default})`}`;
  if (option.kind === 'wholes') return option.default === undefined ? '' : ` (default ${option.default.join(',')})`;
  if (option.kind === 'text' && option.default !== undefined) return ` (default ${option.default})`;
  return '';
}

/** The codes a command uses with their meaning, in code order; usage and internal are always there. */
export function exitCodeRows(exits: Partial<Readonly<Record<ExitCodeName, string>>>): Array<[number, string]> {
  const used: Partial<Record<ExitCodeName, string>> = { ...exits, usage: exits.usage ?? exitCodeMeaningDefaults.usage, internal: exits.internal ?? exitCodeMeaningDefaults.internal };
  return (Object.keys(exitCodes) as ExitCodeName[]).flatMap((name) => {
    const meaning = used[name];
    return meaning === undefined ? [] : [[exitCodes[name], meaning] as [number, string]];
  });
}

/** The width of the right column of help tables: lines stay under 80 columns. */
const helpColumnsMax = 52;

function wrap(text: string, width: number): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  return [...lines, line].join('\n');
}

function table(rows: readonly (readonly [string, string])[]): string[] {
  const width = Math.min(24, Math.max(...rows.map(([left]) => left.length)) + 2);
  return rows.flatMap(([left, right]) => {
    const [first = '', ...rest] = right
      .split('\n')
      .flatMap((part) => wrap(part.trim(), helpColumnsMax).split('\n'));
    const head = left.length + 2 > width ? [`  ${left}`, `  ${' '.repeat(width)}${first}`] : [`  ${left.padEnd(width)}${first}`];
    return [...head, ...rest.map((r) => `  ${' '.repeat(width)}${r.trim()}`)];
  });
}

/**
 * For scripts (the benchmarks): the parsed command line of process.argv, or the help on
 * stdout and exit 0, or the mistake on stderr and exit 2.
 */
export function parseCommandLineOrExit<O extends Readonly<Record<string, OptionSpec>>>(spec: CommandLineSpec<O>, argv: readonly string[] = process.argv.slice(2)): ParsedCommandLine<O> {
  try {
    const parsed = parseCommandLine(spec, argv);
    if (parsed !== 'help') return parsed;
    process.stdout.write(`${helpOf(spec)}\n`);
    process.exit(exitCodes.ok);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`${programOf(spec)} ${spec.command}: ${error.message}\n`);
    process.exit(exitCodes.usage);
  }
}
