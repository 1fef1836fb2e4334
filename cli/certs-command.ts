/** `kd certs`: a development CA and one certificate per stage (and the operator) for mutual TLS. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { chainConfigProblems, stagesOf, type ChainConfig } from '../machines/index.js';
import { caCertFileName, certificateDaysDefault, certificateDaysMax, CertsError, makeCertificates } from '../runtime/security/certs.js';
import { defaultTrustDomain, operatorIdentity, spiffeIdOf } from '../runtime/security/identity.js';
import { helpOf, parseCommandLine, UsageError, type CommandLineSpec } from './args.js';
import { exitCodes } from './exit-codes.js';

export const certsCommandLine = {
  command: 'certs',
  usage: ['certs --nodes N --out DIR [options]'],
  about: `Makes a development certificate authority and, for mutual TLS between stages, one
ECDSA P-256 key and certificate per stage and one for the operator (the kd command
line), each with the URI SAN spiffe://DOMAIN/kubedirect/IDENTITY. Needs the openssl
program (Debian: apt-get install -y openssl).

  DIR/ca.crt, DIR/ca.key       the CA (keep ca.key private: it can issue identities)
  DIR/STAGE.crt, DIR/STAGE.key one per stage (kubelet:n1 -> kubelet-n1.crt), keys mode 0600
  DIR/operator.crt/.key        the identity allowed to call Scaler and Inspect

Run again, it keeps what is there and valid and issues what is missing with the same
CA; files that do not fit (another CA, another identity) are refused unless --force,
which makes a new CA and replaces every certificate of the cluster.`,
  options: {
    config: { kind: 'text', value: 'FILE', help: 'issue for the stages of this cluster configuration' },
    nodes: { kind: 'whole', value: 'N', min: 1, max: 64, help: 'or: for the stages of kd up --nodes N (Kubelets n1..nN)' },
    out: { kind: 'text', value: 'DIR', help: "where the files go (default with --config: its tls.certsDir; kd up --tls uses DIR/certs)" },
    clients: { kind: 'text', value: 'LIST', repeatable: true, help: 'more client identities, comma-separated (for example prometheus, to list in tls.metricsClientIdentities); with --config, the identities its tls section names are issued too' },
    'trust-domain': { kind: 'text', value: 'DOMAIN', help: `the SPIFFE trust domain (default: the config's tls.trustDomain, else ${defaultTrustDomain})` },
    days: { kind: 'whole', value: 'N', min: 1, max: certificateDaysMax, default: certificateDaysDefault, help: 'validity in days' },
    force: { kind: 'flag', help: 'make a new CA and replace the files' },
  },
  example: 'npx kd certs --nodes 4 --out .kd/certs',
  exits: { ok: 'certificates made or kept', failed: 'refused (files that do not fit) or openssl failed' },
  epilogue: `Then set "tls": {"trustDomain": "DOMAIN", "certsDir": "DIR"} in the cluster
configuration, or run "kd up --tls", which does both.`,
} as const satisfies CommandLineSpec;

export async function runCerts(argv: readonly string[], print: (line: string) => void): Promise<number> {
  const parsed = parseCommandLine(certsCommandLine, argv);
  if (parsed === 'help') {
    print(helpOf(certsCommandLine));
    return exitCodes.ok;
  }
  const v = parsed.options;
  if ((v.config === undefined) === (v.nodes === undefined)) throw new UsageError('pass either --config FILE (a cluster configuration) or --nodes N (the stages of kd up --nodes N)');
  const days = v.days;
  let chain: ChainConfig;
  let configTrustDomain: string | undefined;
  let out = v.out;
  const clients = new Set(v.clients);
  if (v.config !== undefined) {
    const read = chainOfConfigFile(v.config);
    ({ chain, trustDomain: configTrustDomain } = read);
    out ??= read.certsDir;
    for (const name of read.clientIdentities) clients.add(name);
  } else {
    const nodes = v.nodes ?? 0;
    chain = { functions: [{ name: 'fn', priority: 0 }], nodes: Array.from({ length: nodes }, (_, i) => ({ name: `n${i + 1}`, capacity: 1 })), variant: 'correct' };
  }
  if (out === undefined || out === '') throw new UsageError('--out DIR is required (for example --out .kd/certs), unless --config names a file with tls.certsDir');
  const trustDomain = v['trust-domain'] ?? configTrustDomain ?? defaultTrustDomain;
  const identities = [...new Set([...stagesOf(chain), operatorIdentity, ...clients])];
  try {
    const outcome = await makeCertificates({ dir: out, trustDomain, identities, force: v.force, days });
    print(`${outcome.caCreated ? 'made the CA' : 'kept the CA'} ${outcome.dir}/${caCertFileName}`);
    if (outcome.issued.length > 0) print(`issued (${outcome.issued.length}): ${outcome.issued.map((n) => spiffeIdOf(trustDomain, n)).join(' ')}`);
    if (outcome.kept.length > 0) print(`kept, already valid (${outcome.kept.length}): ${outcome.kept.join(' ')}`);
    print(`next: "tls": {"trustDomain": "${trustDomain}", "certsDir": "${out}"} in the cluster configuration, or kd up --tls`);
    return exitCodes.ok;
  } catch (error) {
    if (error instanceof CertsError) {
      console.error(`kd certs: ${error.message}`);
      return exitCodes.failed;
    }
    throw error;
  }
}

/**
 * The chain (and tls.trustDomain and tls.certsDir, if any) of a cluster configuration,
 * read without loading its tls section (whose files this command is about to make).
 */
function chainOfConfigFile(file: string): { chain: ChainConfig; trustDomain: string | undefined; certsDir: string | undefined; clientIdentities: string[] } {
  if (!existsSync(file)) throw new UsageError(`--config ${file}: no such file (kd up writes .kd/cluster.json)`);
  let raw: { chain?: ChainConfig; tls?: { trustDomain?: unknown; certsDir?: unknown } & Record<string, unknown> };
  try {
    raw = JSON.parse(readFileSync(file, 'utf8')) as typeof raw;
  } catch (error) {
    throw new UsageError(`--config ${file}: not JSON: ${(error as Error).message}`);
  }
  if (raw.chain === undefined) throw new UsageError(`--config ${file}: no "chain" section`);
  const problems = chainConfigProblems(raw.chain);
  if (problems.length > 0) throw new UsageError(`--config ${file}: ${problems.join('; ')}`);
  const trustDomain = typeof raw.tls?.trustDomain === 'string' ? raw.tls.trustDomain : undefined;
  const certsDir = typeof raw.tls?.certsDir === 'string' && raw.tls.certsDir !== '' ? resolve(dirname(resolve(file)), raw.tls.certsDir) : undefined;
  const clientIdentities = ['operatorIdentities', 'scalerClientIdentities', 'metricsClientIdentities'].flatMap((key) => {
    const list = raw.tls?.[key];
    return Array.isArray(list) ? list.filter((name): name is string => typeof name === 'string') : [];
  });
  return { chain: raw.chain, trustDomain, certsDir, clientIdentities };
}
