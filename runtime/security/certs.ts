/**
 * A development certificate authority and one certificate per identity (`kd certs`),
 * made with the openssl command line (run with execFile, never through a shell).
 *
 *   DIR/ca.crt, DIR/ca.key          the CA (ECDSA P-256, self-signed, CA:TRUE)
 *   DIR/NAME.crt, DIR/NAME.key      one per identity; NAME is the stage ID with ':' as '-'
 *                                   (kubelet:n1 -> kubelet-n1.crt), or `operator`
 *
 * Each leaf certificate has exactly one URI SAN `spiffe://<trust domain>/kubedirect/<identity>`
 * and both the serverAuth and clientAuth extended key usages (every stage is a server
 * to its upstream and a client of its downstreams). Keys are written with mode 0600.
 *
 * Running it again is safe: what is already there and valid (issued by DIR/ca.crt, right
 * identity, key matching, not expired) is kept, missing identities are issued with the
 * existing CA, and anything else is refused unless `force` (a new CA and all new certificates).
 */
import { execFile } from 'node:child_process';
import { createPrivateKey, randomBytes, X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { identityNameProblem, identityOfCertificate, spiffeIdOf, tlsServerName, trustDomainProblem } from './identity.js';

export const caCertFileName = 'ca.crt';
export const caKeyFileName = 'ca.key';
/** Validity of certificates made by `kd certs` unless told otherwise. */
export const certificateDaysDefault = 365;
export const certificateDaysMax = 3_650;
/** How long one openssl run may take. */
const opensslTimeoutMs = 30_000;

/** A problem with the request or the files, said with its fix. */
export class CertsError extends Error {
  override readonly name = 'CertsError';
}

/** The file name (without extension) of an identity: `kubelet:n1` -> `kubelet-n1`. */
export function identityFileBaseOf(name: string): string {
  return name.replace(':', '-');
}

export function certFileOf(dir: string, name: string): string {
  return join(resolve(dir), `${identityFileBaseOf(name)}.crt`);
}

export function keyFileOf(dir: string, name: string): string {
  return join(resolve(dir), `${identityFileBaseOf(name)}.key`);
}

export interface CertsRequest {
  /** Where the files go; created (mode 0700) if missing. */
  readonly dir: string;
  readonly trustDomain: string;
  /** Stage IDs and client identities (for example `operator`) to issue certificates for. */
  readonly identities: readonly string[];
  /** Make a new CA and replace every file of this request. */
  readonly force: boolean;
  readonly days?: number;
  /** The openssl program (default: `openssl` on PATH). */
  readonly openssl?: string;
}

export interface CertsOutcome {
  readonly dir: string;
  readonly caCreated: boolean;
  readonly issued: readonly string[];
  readonly kept: readonly string[];
}

/** Makes (or completes) the development CA and the certificates of `request.identities` in `request.dir`. */
export async function makeCertificates(request: CertsRequest): Promise<CertsOutcome> {
  const dir = resolve(request.dir);
  const days = request.days ?? certificateDaysDefault;
  const openssl = request.openssl ?? 'openssl';
  const problem = trustDomainProblem(request.trustDomain);
  if (problem !== null) throw new CertsError(problem);
  if (!Number.isInteger(days) || days < 1 || days > certificateDaysMax) throw new CertsError(`days must be a whole number from 1 to ${certificateDaysMax}, got ${days}`);
  if (request.identities.length === 0) throw new CertsError('no identity to issue a certificate for');
  const seen = new Set<string>();
  for (const name of request.identities) {
    const bad = identityNameProblem(name);
    if (bad !== null) throw new CertsError(bad);
    if (seen.has(identityFileBaseOf(name))) throw new CertsError(`identity "${name}" is listed twice`);
    seen.add(identityFileBaseOf(name));
  }
  if (seen.has('ca')) throw new CertsError('"ca" cannot be an identity: its files would be the CA\'s');
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new CertsError(`${dir} exists and is not a directory`);

  await opensslVersion(openssl);

  const caCert = join(dir, caCertFileName);
  const caKey = join(dir, caKeyFileName);
  const problems: string[] = [];
  let ca: X509Certificate | null = null;
  const kept: string[] = [];
  if (!request.force) {
    const caFiles = [caCert, caKey].filter((f) => existsSync(f));
    if (caFiles.length === 1) problems.push(`${caFiles[0]} exists without its ${caFiles[0] === caCert ? 'key' : 'certificate'}`);
    if (caFiles.length === 2) {
      const caProblem = existingCaProblem(caCert, caKey);
      if (caProblem === null) ca = new X509Certificate(readFileSync(caCert));
      else problems.push(caProblem);
    }
    for (const name of request.identities) {
      const cert = certFileOf(dir, name);
      const key = keyFileOf(dir, name);
      const present = [cert, key].filter((f) => existsSync(f));
      if (present.length === 0) continue;
      if (present.length === 1) problems.push(`${present[0]} exists without its ${present[0] === cert ? 'key' : 'certificate'}`);
      else if (ca === null) problems.push(`${cert} exists but the CA that issued it is not in ${dir}`);
      else {
        const leafProblem = existingLeafProblem(request.trustDomain, name, cert, key, ca);
        if (leafProblem === null) kept.push(name);
        else problems.push(leafProblem);
      }
    }
    if (problems.length > 0)
      throw new CertsError(
        `${dir} already has files that do not fit: ${problems.slice(0, 3).join('; ')}${problems.length > 3 ? `; and ${problems.length - 3} more` : ''}. Pass --force to make a new CA and replace them (or choose another --out)`,
      );
  }

  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const work = mkdtempSync(join(dir, '.kd-certs-'));
  try {
    const caCreated = ca === null;
    const moves: Array<readonly [string, string]> = [];
    let signingCert = caCert;
    let signingKey = caKey;
    if (caCreated) {
      signingCert = join(work, caCertFileName);
      signingKey = join(work, caKeyFileName);
      await generateKey(openssl, signingKey);
      const config = join(work, 'ca.cnf');
      writeFileSync(config, caConfig(request.trustDomain));
      await run(openssl, ['req', '-new', '-x509', '-config', config, '-extensions', 'ext', '-key', signingKey, '-days', String(days), '-sha256', '-set_serial', serial(), '-out', signingCert]);
      moves.push([signingKey, caKey], [signingCert, caCert]);
    }
    const issued: string[] = [];
    for (const name of request.identities) {
      if (kept.includes(name)) continue;
      const base = identityFileBaseOf(name);
      const key = join(work, `${base}.key`);
      const csr = join(work, `${base}.csr`);
      const cert = join(work, `${base}.crt`);
      const config = join(work, `${base}.cnf`);
      writeFileSync(config, leafConfig(request.trustDomain, name));
      await generateKey(openssl, key);
      await run(openssl, ['req', '-new', '-config', config, '-key', key, '-out', csr]);
      await run(openssl, ['x509', '-req', '-in', csr, '-CA', signingCert, '-CAkey', signingKey, '-set_serial', serial(), '-days', String(days), '-sha256', '-extfile', config, '-extensions', 'ext', '-out', cert]);
      moves.push([key, keyFileOf(dir, name)], [cert, certFileOf(dir, name)]);
      issued.push(name);
    }
    // Everything was made: only now replace what is in DIR (a failure above leaves DIR as it was).
    for (const [from, to] of moves) renameSync(from, to);
    return { dir, caCreated, issued, kept };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Checks that openssl runs; a missing program is a CertsError with the fix. */
async function opensslVersion(openssl: string): Promise<string> {
  return (await run(openssl, ['version'])).trim();
}

async function generateKey(openssl: string, file: string): Promise<void> {
  await run(openssl, ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file]);
  chmodSync(file, 0o600);
}

function run(openssl: string, args: readonly string[]): Promise<string> {
  return new Promise((resolveRun, reject) => {
    execFile(openssl, [...args], { timeout: opensslTimeoutMs, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error === null) return resolveRun(stdout);
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT')
        return reject(new CertsError(`the openssl program was not found (${openssl}): install it (Debian: apt-get install -y openssl) and run again`));
      reject(new CertsError(`openssl ${args[0] ?? ''} failed: ${(stderr || error.message).trim().split('\n').slice(0, 3).join(' / ')}`));
    });
  });
}

/** A random positive 127-bit serial number in openssl's hex form. */
function serial(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x40;
  return `0x${bytes.toString('hex')}`;
}

function caConfig(trustDomain: string): string {
  return [
    '[req]',
    'distinguished_name = dn',
    'prompt = no',
    '[dn]',
    `CN = kubedirect development CA ${trustDomain}`,
    '[ext]',
    'basicConstraints = critical,CA:TRUE,pathlen:0',
    'keyUsage = critical,keyCertSign,cRLSign',
    'subjectKeyIdentifier = hash',
    '',
  ].join('\n');
}

function leafConfig(trustDomain: string, name: string): string {
  return [
    '[req]',
    'distinguished_name = dn',
    'prompt = no',
    '[dn]',
    `CN = ${name}`,
    '[ext]',
    'basicConstraints = critical,CA:FALSE',
    'keyUsage = critical,digitalSignature',
    'extendedKeyUsage = serverAuth,clientAuth',
    // The identity is the one URI SAN; the DNS name is what HTTPS clients of /metrics (a Prometheus: tls_config.server_name) verify.
    `subjectAltName = URI:${spiffeIdOf(trustDomain, name)}, DNS:${tlsServerName}`,
    'subjectKeyIdentifier = hash',
    'authorityKeyIdentifier = keyid:always',
    '',
  ].join('\n');
}

function expired(certificate: X509Certificate): boolean {
  return Date.parse(certificate.validTo) <= Date.now();
}

/** Why an existing CA cannot be reused, or null. */
function existingCaProblem(certFile: string, keyFile: string): string | null {
  try {
    const cert = new X509Certificate(readFileSync(certFile));
    if (!cert.ca) return `${certFile} is not a CA certificate`;
    if (!cert.checkPrivateKey(createPrivateKey(readFileSync(keyFile)))) return `${keyFile} is not the key of ${certFile}`;
    if (expired(cert)) return `${certFile} expired on ${cert.validTo}`;
    return null;
  } catch (error) {
    return `${certFile} or ${keyFile} is unreadable: ${(error as Error).message}`;
  }
}

/** Why an existing identity certificate cannot be kept, or null. */
function existingLeafProblem(trustDomain: string, name: string, certFile: string, keyFile: string, ca: X509Certificate): string | null {
  try {
    const cert = new X509Certificate(readFileSync(certFile));
    if (!cert.verify(ca.publicKey)) return `${certFile} was not issued by the CA in ${caCertFileName}`;
    if (!cert.checkPrivateKey(createPrivateKey(readFileSync(keyFile)))) return `${keyFile} is not the key of ${certFile}`;
    const identity = identityOfCertificate(trustDomain, cert);
    if (identity.kind !== 'identity') return `${certFile}: ${identity.why}`;
    if (identity.name !== name) return `${certFile} is the identity "${identity.name}", not "${name}"`;
    if (expired(cert)) return `${certFile} expired on ${cert.validTo}`;
    if ((statSync(keyFile).mode & 0o077) !== 0) return `${keyFile} is readable by others (chmod 600 ${keyFile})`;
    return null;
  } catch (error) {
    return `${certFile} or ${keyFile} is unreadable: ${(error as Error).message}`;
  }
}
