/**
 * machines/ is pure (machines/README.md, the driver contract): no I/O modules, no driver code, no clock, no
 * timers, no randomness, no process. This test parses every non-test .ts file under
 * machines/ with the TypeScript compiler and fails on any forbidden import or global.
 * The eslint config has the same rule; this test also covers dynamic imports,
 * `require`, `globalThis.X` and type positions, and a self-test proves it can fail.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const machinesDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const repoRoot = resolve(machinesDir, '..');

const forbiddenModules = ['fs', 'net', 'http', 'http2', 'https', 'child_process', 'dgram', 'dns', 'tls', 'worker_threads', 'cluster', 'os', 'perf_hooks', 'timers'];
const driverFolders = ['runtime', 'checker', 'simulator', 'conformance', 'cli'];
const forbiddenGlobals = new Set(['Date', 'setTimeout', 'setInterval', 'setImmediate', 'clearTimeout', 'clearInterval', 'clearImmediate', 'queueMicrotask', 'performance', 'process', 'require']);

interface Finding {
  readonly file: string;
  readonly line: number;
  readonly what: string;
}

/** Why importing `specifier` from `file` breaks purity, or null when it is allowed. */
function forbiddenImport(specifier: string, file: string): string | null {
  if (specifier.startsWith('node:')) return `imports ${specifier} (node built-in)`;
  if (specifier.startsWith('@grpc/')) return `imports ${specifier} (gRPC)`;
  const bare = specifier.split('/')[0] ?? specifier;
  if (forbiddenModules.includes(bare)) return `imports ${specifier} (I/O module)`;
  if (specifier.startsWith('.')) {
    const target = relative(repoRoot, resolve(dirname(file), specifier));
    const top = target.split(sep)[0] ?? '';
    if (driverFolders.includes(top)) return `imports ${specifier} (driver code in ${top}/)`;
  }
  return null;
}

/** Every purity violation in a TypeScript source text. `file` is its (possibly virtual) path, for relative imports. */
function purityFindings(source: string, file: string): Finding[] {
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const findings: Finding[] = [];
  const report = (node: ts.Node, what: string) =>
    findings.push({ file: relative(repoRoot, file), line: sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1, what });
  const checkSpecifier = (node: ts.Node, literal: ts.Expression | undefined) => {
    if (literal === undefined || !ts.isStringLiteralLike(literal)) return;
    const why = forbiddenImport(literal.text, file);
    if (why !== null) report(node, why);
  };

  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) checkSpecifier(node, node.moduleSpecifier);
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) checkSpecifier(node, node.moduleReference.expression);
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) checkSpecifier(node, node.argument.literal as ts.Expression);
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) checkSpecifier(node, node.arguments[0]);
    else if (ts.isPropertyAccessExpression(node)) {
      const object = node.expression;
      const property = node.name.text;
      if (ts.isIdentifier(object) && object.text === 'Math' && property === 'random') report(node, 'uses Math.random');
      if (ts.isIdentifier(object) && (object.text === 'globalThis' || object.text === 'window' || object.text === 'global') && forbiddenGlobals.has(property))
        report(node, `uses ${object.text}.${property}`);
    } else if (ts.isElementAccessExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'Math') {
      const arg = node.argumentExpression;
      if (ts.isStringLiteralLike(arg) && arg.text === 'random') report(node, 'uses Math.random');
    } else if (ts.isIdentifier(node) && forbiddenGlobals.has(node.text) && isGlobalReference(node)) {
      report(node, `uses ${node.text}`);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return findings;
}

/** An identifier that refers to a binding (or a type), not a property name, key or declaration of the same spelling. */
function isGlobalReference(node: ts.Identifier): boolean {
  const parent = node.parent;
  if (ts.isPropertyAccessExpression(parent) && parent.name === node) return false;
  if (ts.isQualifiedName(parent) && parent.right === node) return false;
  if ((ts.isPropertyAssignment(parent) || ts.isPropertySignature(parent) || ts.isPropertyDeclaration(parent) || ts.isMethodDeclaration(parent) || ts.isMethodSignature(parent)) && parent.name === node)
    return false;
  if (ts.isGetAccessorDeclaration(parent) || ts.isSetAccessorDeclaration(parent)) return parent.name !== node;
  if (ts.isEnumMember(parent) && parent.name === node) return false;
  if (ts.isBindingElement(parent) && parent.propertyName === node) return false;
  if ((ts.isImportSpecifier(parent) || ts.isExportSpecifier(parent)) && parent.propertyName === node) return false;
  if (ts.isLabeledStatement(parent) || ts.isBreakOrContinueStatement(parent)) return false;
  return true;
}

function sourceFiles(dir: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'test' && entry.name !== 'node_modules') files.push(...sourceFiles(path));
    } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) {
      files.push(path);
    }
  }
  return files.sort();
}

describe('machines/ purity', () => {
  const files = sourceFiles(machinesDir);

  it('finds the machine sources to check', () => {
    expect(files.length).toBeGreaterThan(20);
    expect(files.some((f) => f.endsWith(join('core', 'lifecycle.ts')))).toBe(true);
  });

  it('no non-test file under machines/ imports I/O or driver code, or uses clocks, timers, randomness or process', () => {
    const findings = files.flatMap((file) => purityFindings(readFileSync(file, 'utf8'), file));
    expect(findings.map((f) => `${f.file}:${f.line}: ${f.what}`)).toEqual([]);
  });

  describe('self-test: the detector catches what it must and nothing else', () => {
    const virtual = join(machinesDir, 'stages', 'bad.ts');

    it('flags every forbidden import form', () => {
      const bad = [
        `import { readFileSync } from 'node:fs';`,
        `import fs from 'fs';`,
        `import { readFile } from 'fs/promises';`,
        `import * as net from 'net';`,
        `import http from 'http';`,
        `import http2 from 'http2';`,
        `import { spawn } from 'child_process';`,
        `import * as grpc from '@grpc/grpc-js';`,
        `export { x } from '../../runtime/server.js';`,
        `import type { World } from '../../simulator/world.js';`,
        `import { check } from '../../checker/check.js';`,
        `import '../../conformance/cases.js';`,
        `import { main } from '../../cli/main.js';`,
        `const m = await import('node:net');`,
        `type T = import('../../checker/types.js').T;`,
      ].join('\n');
      const whats = purityFindings(bad, virtual).map((f) => f.what);
      expect(whats).toHaveLength(15);
      expect(whats.join('\n')).toMatch(/runtime\//);
      expect(whats.join('\n')).toMatch(/@grpc\/grpc-js/);
    });

    it('flags clocks, timers, randomness and process', () => {
      const bad = [
        `const a = Date.now();`,
        `const b = new Date();`,
        `setTimeout(() => undefined, 1);`,
        `setInterval(() => undefined, 1);`,
        `setImmediate(() => undefined);`,
        `const c = performance.now();`,
        `const d = process.env.X;`,
        `const e = Math.random();`,
        `const f = Math['random']();`,
        `const g = globalThis.setTimeout;`,
        `let h: Date | null = null;`,
      ].join('\n');
      const findings = purityFindings(bad, virtual);
      expect(findings.map((f) => f.line)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    });

    it('does not flag the same words in comments, strings, property names or allowed imports', () => {
      const clean = [
        `// Date.now(), setTimeout and process are forbidden; Math.random too.`,
        `/* import fs from 'fs' */`,
        `import { assert } from '../core/assert.js';`,
        `import type { ProtocolVariant } from '../../spec/variants.js';`,
        `import { setup } from 'xstate';`,
        `const text = 'Date.now() process setTimeout';`,
        `const record = { process: 1, Date: 2, performance: 3 };`,
        `const n = record.process + record.Date;`,
        `interface Steps { process(): void; readonly setTimeout: number }`,
        `const { process: proc } = record;`,
        `const r = Math.max(1, 2);`,
      ].join('\n');
      expect(purityFindings(clean, virtual)).toEqual([]);
    });
  });
});
