/**
 * The one command-line parser (cli/args.ts): every kd command's declaration, checked with
 * generated command lines (any input ends in a parse or a UsageError that names the fix,
 * never another error), with the rules a user meets (negative numbers, `--x=v`, repeats,
 * unknown options with a suggestion), and every command's help listing its exit codes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { exitCodeRows, helpOf, parseCommandLine, UsageError, type CommandLineSpec } from '../args.js';
import { exitCodes } from '../exit-codes.js';
import { commands, main } from '../main.js';

const specs: ReadonlyArray<[string, CommandLineSpec]> = Object.entries(commands).map(([name, c]) => [name, c.commandLine]);

/** Words a user might type: option names of the command (with and without values), numbers, junk. */
function argvOf(spec: CommandLineSpec): fc.Arbitrary<string[]> {
  const names = Object.keys(spec.options);
  const withValue = names.length === 0 ? fc.constant('--nope=1') : fc.constantFrom(...names).chain((n) => fc.string().map((v) => `--${n}=${v}`));
  const word = fc.oneof(
    fc.constantFrom(...names.map((n) => `--${n}`), '-h', '--', '-', '--=', '---x', '--nope'),
    withValue,
    fc.integer({ min: -(2 ** 40), max: 2 ** 40 }).map(String),
    fc.constantFrom('NaN', 'Infinity', '1e3', '0x10', '1.5', ' 7 ', '', 'auto', 'fn', 'correct', 'bfs'),
    fc.string(),
  );
  return fc.array(word, { maxLength: 8 });
}

describe('the kd command-line parser', () => {
  it.each(specs)('%s: any command line parses or is refused with a UsageError, nothing else', (_name, spec) => {
    fc.assert(
      fc.property(argvOf(spec), (argv) => {
        try {
          const parsed = parseCommandLine(spec, argv);
          if (parsed === 'help') expect(argv.some((a) => a === '-h' || a === '--help')).toBe(true);
        } catch (error) {
          expect(error).toBeInstanceOf(UsageError);
          expect((error as Error).message.length).toBeGreaterThan(10);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a whole-number option takes exactly the whole numbers of its range', () => {
    const spec = {
      command: 'demo',
      about: 'demo',
      options: { nodes: { kind: 'whole', value: 'N', min: 1, max: 64, default: 4, help: 'nodes' } },
      example: 'kd demo --nodes 4',
      exits: { ok: 'done' },
    } as const satisfies CommandLineSpec;
    fc.assert(
      fc.property(fc.integer({ min: -1000, max: 1000 }), fc.boolean(), (n, withEquals) => {
        const argv = withEquals ? [`--nodes=${n}`] : ['--nodes', String(n)];
        if (n >= 1 && n <= 64) {
          const parsed = parseCommandLine(spec, argv);
          expect(parsed !== 'help' && parsed.options.nodes).toBe(n);
        } else expect(() => parseCommandLine(spec, argv)).toThrow(`--nodes must be from 1 to 64, got ${n}`);
      }),
    );
    const parsed = parseCommandLine(spec, []);
    expect(parsed !== 'help' && parsed.options.nodes).toBe(4);
    expect(() => parseCommandLine(spec, ['--nodes', '2.5'])).toThrow('--nodes takes a whole number, got "2.5" (for example: --nodes 4)');
    expect(() => parseCommandLine(spec, ['--nodes', '3', '--nodes', '4'])).toThrow('--nodes is given twice');
    expect(() => parseCommandLine(spec, ['--node', '3'])).toThrow('unknown option --node (its options: --nodes). Did you mean --nodes?');
    expect(() => parseCommandLine(spec, ['--nodes'])).toThrow('--nodes needs a value');
  });

  it('an argument that looks like a negative number is an argument, checked by its range', () => {
    expect(() => parseCommandLine(commands['scale']!.commandLine, ['fn', '-5'])).toThrow('N must be from 0 to');
    expect(() => parseCommandLine(commands['scale']!.commandLine, ['fn', 'abc'])).toThrow('N takes a whole number, got "abc" (for example: npx kd scale fn 50)');
    const parsed = parseCommandLine(commands['scale']!.commandLine, ['--', 'fn', '3']);
    expect(parsed !== 'help' && parsed.arguments).toEqual({ FUNCTION: 'fn', N: 3 });
  });

  it.each(specs)('%s: the help lists the options and every exit code the command uses', (_name, spec) => {
    const help = helpOf(spec);
    for (const option of Object.keys(spec.options)) expect(help).toContain(`--${option}`);
    expect(help).toContain('Exit codes:');
    for (const [code, meaning] of exitCodeRows(spec.exits)) expect(help).toMatch(new RegExp(`\\n  ${code} +${meaning.split(' ')[0]}`));
    expect(exitCodeRows(spec.exits).map(([code]) => code)).toEqual(expect.arrayContaining([exitCodes.usage, exitCodes.internal]));
    for (const line of help.split('\n')) expect(line.length, line).toBeLessThanOrEqual(100);
  });

  it.each([
    [['check', '--preset', 'nosuch']],
    [['check', '--variant', 'nosuch']],
    [['replay']],
    [['scale', 'fn', 'abc']],
    [['up', '--nodes', '-3']],
    [['conformance', '--role', 'nosuch']],
    [['node', '--role', 'kubelet', '--bogus']],
  ])('bad usage exits 2 in every command: %j', async (argv) => {
    expect(await main(argv, () => {})).toBe(exitCodes.usage);
  });

  it('kd --version names the implementation and the protocol version', async () => {
    const lines: string[] = [];
    expect(await main(['--version'], (l) => lines.push(l))).toBe(0);
    expect(lines[0]).toMatch(/^kubedirect-ts \d+\.\d+\.\d+ \(protocol \d+\)$/);
  });
});
