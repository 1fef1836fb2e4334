/**
 * The `tls` section of a cluster configuration: mutual TLS between stages and for the
 * operator's calls (REQ-SEC-001). Absent, the cluster runs in plaintext, which the
 * configuration allows only on loopback addresses (the spec's explicit insecure setting).
 *
 *   "tls": {
 *     "trustDomain": "cluster.local",
 *     "certsDir": "certs",                      // DIR/ca.crt, DIR/STAGE.crt, DIR/STAGE.key (kd certs)
 *     "ca": "certs/ca.crt",                     // optional: the CA certificate, instead of certsDir's
 *     "identities": {                           // optional: per identity, instead of certsDir's files
 *       "kubelet:n1": { "cert": "n1.crt", "key": "n1.key" }
 *     },
 *     "operatorIdentities": ["operator"],       // optional: who may call Inspect (default: operator)
 *     "scalerClientIdentities": ["operator"],   // optional: who may call Scaler (default: operator)
 *     "metricsClientIdentities": ["operator"]   // optional: who may read /metrics and /healthz on a non-loopback metricsAddress (default: operator)
 *   }
 *
 * Relative paths are taken from the configuration file's directory. The identity the
 * `kd` command line uses is `operator` (its files resolved like a stage's).
 */
import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { caCertFileName, certFileOf, keyFileOf } from './certs.js';
import { identityNameProblem, operatorIdentity, trustDomainProblem } from './identity.js';

export interface IdentityFiles {
  readonly cert: string;
  readonly key: string;
}

export interface TlsConfig {
  readonly trustDomain: string;
  /** The CA certificate (PEM) every peer's certificate must chain to. */
  readonly ca: string;
  /** Certificate and key files of every identity this configuration names (stages and operator). */
  readonly identities: Readonly<Record<string, IdentityFiles>>;
  /** Identities allowed to call Inspect (REQ-SEC-005). */
  readonly operatorIdentities: readonly string[];
  /** Identities allowed to call Scaler (REQ-SEC-005). */
  readonly scalerClientIdentities: readonly string[];
  /** Identities allowed to read /metrics and /healthz served on a non-loopback address (runtime/observe/http-endpoint.ts). */
  readonly metricsClientIdentities: readonly string[];
}

interface RawTls {
  readonly trustDomain?: unknown;
  readonly certsDir?: unknown;
  readonly ca?: unknown;
  readonly identities?: unknown;
  readonly operatorIdentities?: unknown;
  readonly scalerClientIdentities?: unknown;
  readonly metricsClientIdentities?: unknown;
}

const knownKeys = new Set(['trustDomain', 'certsDir', 'ca', 'identities', 'operatorIdentities', 'scalerClientIdentities', 'metricsClientIdentities']);

/** The fix printed with a missing file. */
function makeCertsHint(configFile: string, certsDir: string | null): string {
  return `run "npx kd certs --out ${certsDir ?? 'DIR'} --config ${configFile}" to make them`;
}

/**
 * Reads the `tls` section (`raw`, as parsed from JSON) of `configFile` for `stages`;
 * returns the section with absolute paths, or the problems with their fixes.
 */
export function tlsConfigOf(
  raw: unknown,
  base: string,
  configFile: string,
  stages: readonly string[],
): { readonly tls: TlsConfig | undefined; readonly problems: string[] } {
  if (raw === undefined || raw === null) return { tls: undefined, problems: [] };
  const problems: string[] = [];
  if (typeof raw !== 'object' || Array.isArray(raw)) return { tls: undefined, problems: ['tls must be an object such as {"trustDomain": "cluster.local", "certsDir": "certs"}'] };
  const section = raw as RawTls;
  for (const key of Object.keys(section)) if (!knownKeys.has(key)) problems.push(`tls: unknown key "${key}" (known: ${[...knownKeys].join(', ')})`);
  const tdProblem = trustDomainProblem(section.trustDomain);
  if (tdProblem !== null) problems.push(`tls.trustDomain: ${tdProblem}`);
  const path = (value: unknown, what: string): string | null => {
    if (typeof value !== 'string' || value === '') {
      problems.push(`${what} must be a file or directory path`);
      return null;
    }
    return isAbsolute(value) ? value : join(base, value);
  };
  const certsDir = section.certsDir === undefined ? null : path(section.certsDir, 'tls.certsDir');
  const ca = section.ca !== undefined ? path(section.ca, 'tls.ca') : certsDir === null ? null : join(certsDir, caCertFileName);
  if (ca === null && section.ca === undefined) problems.push('tls needs "certsDir" (as made by kd certs) or "ca" (the CA certificate file)');

  const explicit: Record<string, IdentityFiles> = {};
  if (section.identities !== undefined) {
    if (typeof section.identities !== 'object' || section.identities === null || Array.isArray(section.identities))
      problems.push('tls.identities must be an object: {"STAGE": {"cert": "FILE", "key": "FILE"}}');
    else
      for (const [name, files] of Object.entries(section.identities as Record<string, unknown>)) {
        const bad = identityNameProblem(name);
        if (bad !== null) problems.push(`tls.identities: ${bad}`);
        const entry = files as { cert?: unknown; key?: unknown } | null;
        const cert = path(entry?.cert, `tls.identities["${name}"].cert`);
        const key = path(entry?.key, `tls.identities["${name}"].key`);
        if (cert !== null && key !== null) explicit[name] = { cert, key };
      }
  }
  const identityList = (value: unknown, what: string): string[] => {
    if (value === undefined) return [operatorIdentity];
    if (!Array.isArray(value) || value.length === 0) {
      problems.push(`${what} must be a non-empty list of identity names, for example ["${operatorIdentity}"]`);
      return [];
    }
    for (const name of value) {
      const bad = identityNameProblem(name);
      if (bad !== null) problems.push(`${what}: ${bad}`);
    }
    return value as string[];
  };
  const operatorIdentities = identityList(section.operatorIdentities, 'tls.operatorIdentities');
  const scalerClientIdentities = identityList(section.scalerClientIdentities, 'tls.scalerClientIdentities');
  const metricsClientIdentities = identityList(section.metricsClientIdentities, 'tls.metricsClientIdentities');

  const identities: Record<string, IdentityFiles> = {};
  const missing: string[] = [];
  for (const name of [...stages, operatorIdentity]) {
    const files = explicit[name] ?? (certsDir === null ? null : { cert: certFileOf(certsDir, name), key: keyFileOf(certsDir, name) });
    if (files === null) {
      // The operator's files are optional: only the kd command line needs them.
      if (name !== operatorIdentity) problems.push(`tls: no certificate for stage "${name}": add it to tls.identities or set tls.certsDir`);
      continue;
    }
    identities[name] = files;
    if (name === operatorIdentity) continue;
    for (const file of [files.cert, files.key]) if (!existsSync(file)) missing.push(file);
  }
  if (ca !== null && !existsSync(ca)) missing.unshift(ca);
  if (missing.length > 0)
    problems.push(`tls: missing ${missing.length === 1 ? 'file' : 'files'} ${missing.slice(0, 4).join(', ')}${missing.length > 4 ? ` and ${missing.length - 4} more` : ''}; ${makeCertsHint(configFile, certsDir)}`);
  if (problems.length > 0 || ca === null || tdProblem !== null) return { tls: undefined, problems };
  return { tls: { trustDomain: section.trustDomain as string, ca, identities, operatorIdentities, scalerClientIdentities, metricsClientIdentities }, problems };
}

/** The certificate and key files of `identity`, or an error naming the fix. */
export function identityFilesOf(tls: TlsConfig, identity: string): IdentityFiles {
  const files = tls.identities[identity];
  if (files === undefined) throw new Error(`tls: no certificate configured for "${identity}": add it to tls.identities or set tls.certsDir`);
  return files;
}
