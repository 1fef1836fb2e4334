/**
 * Import cycles among the repository's TypeScript files: the strongly connected
 * components (Tarjan) of the graph of relative imports and re-exports, type-only ones
 * included (a type cycle still ties two files together for a reader). Used by
 * test/import-cycles.test.ts.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

const skippedDirectories: ReadonlySet<string> = new Set(['node_modules', 'out', 'site']);

function sourceFilesUnder(dir: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.') || skippedDirectories.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...sourceFilesUnder(path));
    else if (path.endsWith('.ts') && !path.endsWith('.d.ts')) files.push(resolve(path));
  }
  return files;
}

/** The repository files `file` imports or re-exports from (relative specifiers; `.js` names the `.ts` source). */
function importsOf(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, false);
  const targets: string[] = [];
  for (const statement of source.statements) {
    const specifier = ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement) ? statement.moduleSpecifier : undefined;
    if (specifier === undefined || !ts.isStringLiteral(specifier) || !specifier.text.startsWith('.')) continue;
    const target = resolve(dirname(file), specifier.text).replace(/\.js$/, '.ts');
    if (existsSync(target) && statSync(target).isFile()) targets.push(target);
  }
  return targets;
}

/** Each import cycle under `root` as its files (relative to `root`, sorted); none when the graph is acyclic. */
export function importCyclesUnder(root: string): string[][] {
  const files = sourceFilesUnder(root);
  const edges = new Map(files.map((f) => [f, importsOf(f)]));
  const index = new Map<string, number>();
  const lowest = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const visit = (file: string): void => {
    index.set(file, index.size);
    lowest.set(file, index.get(file) as number);
    stack.push(file);
    onStack.add(file);
    for (const next of edges.get(file) ?? []) {
      if (!index.has(next)) {
        visit(next);
        lowest.set(file, Math.min(lowest.get(file) as number, lowest.get(next) as number));
      } else if (onStack.has(next)) lowest.set(file, Math.min(lowest.get(file) as number, index.get(next) as number));
    }
    if (lowest.get(file) !== index.get(file)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop() as string;
      onStack.delete(member);
      component.push(member);
    } while (member !== file);
    const selfImport = component.length === 1 && (edges.get(file) ?? []).includes(file);
    if (component.length > 1 || selfImport) cycles.push(component.map((f) => relative(root, f)).sort());
  };
  for (const file of files) if (!index.has(file)) visit(file);
  return cycles;
}
