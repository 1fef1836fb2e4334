/**
 * Mutual TLS (spec/10-wire-protocol.md §Security, REQ-SEC-001..005) with real processes
 * and sockets: `kd certs` output checked with openssl and node:crypto; a 2-node cluster
 * started with `kd up --tls` converges after a scale; peers with the wrong identity, no
 * certificate, a certificate of another CA, an old TLS version, or a Hello that names
 * another upstream than the authenticated one are refused with the specified status,
 * and the stage's state (Inspect) does not change.
 */
import { execFile, spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runScale, runStatus, runUp } from '../../cli/cluster-commands.js';
import { main } from '../../cli/main.js';
import type { StageId } from '../../machines/index.js';
import { loadClusterConfig, type ClusterConfig } from '../config.js';
import { configFileOf, pidOf, sleep, startStageProcess, stopCluster, stopProcess } from '../cluster/local-cluster.js';
import { getStageState, stageTargetOf } from '../cluster/rpc.js';
import { clusterStatus } from '../cluster/status.js';
import { certFileOf, keyFileOf } from '../security/certs.js';
import { accessPolicyOf, channelCredentialsOf, loadTlsMaterial, serverCredentialsOf, tlsChannelOptions, type TlsMaterial } from '../security/credentials.js';
import { identityOfSubjectAltName, spiffeIdOf } from '../security/identity.js';
import { reasonOfStatus } from '../wire/errors.js';
import { InspectClient, LinkClient, ScalerClient, type DownstreamFrame, type UpstreamFrame, type WireStageState } from '../wire/proto.js';
import { testWaitMsMax } from '../../test/wait-until.js';

const kdBin = fileURLToPath(new URL('../../bin/kd.mjs', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'kd-tls-'));
const noPrint = (): void => {};
const trustDomain = 'cluster.local';
const twoNodeIdentities = ['autoscaler', 'deployment', 'replicaset', 'scheduler', 'kubelet:n1', 'kubelet:n2', 'operator'];

function openssl(args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile('openssl', [...args], { encoding: 'utf8' }, (error, stdout, stderr) => (error === null ? resolve(stdout + stderr) : reject(new Error(`${error.message}: ${stderr}`)))),
  );
}

afterAll(() => rmSync(root, { recursive: true, force: true }));

// ---------------------------------------------------------------------------
// kd certs
// ---------------------------------------------------------------------------

describe('kd certs', () => {
  const out = join(root, 'certs');

  it('makes a CA and one certificate per stage and the operator, with the SPIFFE URI SAN, signed by the CA, keys 0600', async () => {
    const lines: string[] = [];
    expect(await main(['certs', '--out', out, '--nodes', '2'], (l) => lines.push(l))).toBe(0);
    expect(lines.join('\n')).toContain('made the CA');
    const ca = new X509Certificate(readFileSync(join(out, 'ca.crt')));
    expect(ca.ca).toBe(true);
    expect(ca.verify(ca.publicKey)).toBe(true);
    expect(statSync(join(out, 'ca.key')).mode & 0o777).toBe(0o600);
    for (const name of twoNodeIdentities) {
      const cert = new X509Certificate(readFileSync(certFileOf(out, name)));
      expect(cert.subjectAltName).toBe(`URI:${spiffeIdOf(trustDomain, name)}, DNS:kubedirect`);
      expect(cert.ca).toBe(false);
      expect(cert.verify(ca.publicKey)).toBe(true);
      expect(cert.checkIssued(ca)).toBe(true);
      expect(cert.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
      expect(statSync(keyFileOf(out, name)).mode & 0o777).toBe(0o600);
      expect(await openssl(['verify', '-CAfile', join(out, 'ca.crt'), certFileOf(out, name)])).toContain(': OK');
    }
    const text = await openssl(['x509', '-in', certFileOf(out, 'kubelet:n1'), '-noout', '-ext', 'subjectAltName,extendedKeyUsage']);
    expect(text).toContain('URI:spiffe://cluster.local/kubedirect/kubelet:n1');
    expect(text).toContain('TLS Web Server Authentication, TLS Web Client Authentication');
  });

  it('keeps valid files when run again, issues only what is missing, and refuses files that do not fit unless --force', async () => {
    const caBefore = readFileSync(join(out, 'ca.crt'));
    const n1Before = readFileSync(certFileOf(out, 'kubelet:n1'));
    const lines: string[] = [];
    expect(await main(['certs', '--out', out, '--nodes', '3'], (l) => lines.push(l))).toBe(0);
    expect(lines.join('\n')).toMatch(/kept the CA[\s\S]*issued \(1\): spiffe:\/\/cluster\.local\/kubedirect\/kubelet:n3/);
    expect(readFileSync(join(out, 'ca.crt'))).toEqual(caBefore);
    expect(readFileSync(certFileOf(out, 'kubelet:n1'))).toEqual(n1Before);
    const ca = new X509Certificate(caBefore);
    expect(new X509Certificate(readFileSync(certFileOf(out, 'kubelet:n3'))).verify(ca.publicKey)).toBe(true);

    // Another trust domain does not fit what is there: refused, nothing changed.
    expect(await main(['certs', '--out', out, '--nodes', '2', '--trust-domain', 'other.test'], noPrint)).toBe(1);
    expect(readFileSync(join(out, 'ca.crt'))).toEqual(caBefore);
    // --force: a new CA, every certificate issued again by it.
    expect(await main(['certs', '--out', out, '--nodes', '2', '--trust-domain', 'other.test', '--force'], noPrint)).toBe(0);
    const newCa = new X509Certificate(readFileSync(join(out, 'ca.crt')));
    expect(newCa.raw.equals(ca.raw)).toBe(false);
    const n1 = new X509Certificate(readFileSync(certFileOf(out, 'kubelet:n1')));
    expect(n1.verify(newCa.publicKey)).toBe(true);
    expect(n1.subjectAltName).toBe('URI:spiffe://other.test/kubedirect/kubelet:n1, DNS:kubedirect');
  });

  it('says what to do when openssl is missing, and refuses bad usage with exit 2', async () => {
    const result = spawnSync(process.execPath, [kdBin, 'certs', '--out', join(root, 'no-openssl'), '--nodes', '1'], { encoding: 'utf8', env: { ...process.env, PATH: join(root, 'empty-path') } });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('openssl program was not found');
    expect(result.stderr).toContain('apt-get install -y openssl');
    expect(await main(['certs', '--nodes', '2'], noPrint)).toBe(2); // no --out
    expect(await main(['certs', '--out', join(root, 'x')], noPrint)).toBe(2); // neither --config nor --nodes
    expect(await main(['certs', '--out', join(root, 'x'), '--nodes', '2', '--days', '0'], noPrint)).toBe(2);
    expect(await main(['certs', '--out', join(root, 'x'), '--nodes', '2', '--trust-domain', 'Bad Domain'], noPrint)).toBe(1);
  });
});

// ---------------------------------------------------------------------------
// Identities
// ---------------------------------------------------------------------------

describe('identities', () => {
  it('takes exactly one URI SAN of the trust domain under /kubedirect/', () => {
    expect(identityOfSubjectAltName(trustDomain, 'URI:spiffe://cluster.local/kubedirect/kubelet:n1')).toMatchObject({ kind: 'identity', name: 'kubelet:n1' });
    expect(identityOfSubjectAltName(trustDomain, 'DNS:a.example.test, URI:spiffe://cluster.local/kubedirect/scheduler')).toMatchObject({ kind: 'identity', name: 'scheduler' });
    const none = (san: string | undefined): string => {
      const identity = identityOfSubjectAltName(trustDomain, san);
      return identity.kind === 'none' ? identity.why : `identity ${identity.name}`;
    };
    expect(none(undefined)).toMatch(/no URI subject alternative name/);
    expect(none('DNS:scheduler')).toMatch(/no URI subject alternative name/);
    expect(none('URI:spiffe://cluster.local/kubedirect/scheduler, URI:spiffe://cluster.local/kubedirect/replicaset')).toMatch(/2 URI subject alternative names/);
    expect(none('URI:spiffe://other.test/kubedirect/scheduler')).toMatch(/not an identity of the trust domain cluster\.local/);
    expect(none('URI:spiffe://cluster.local/other/scheduler')).toMatch(/not an identity/);
    expect(none('URI:spiffe://cluster.local/kubedirect/kubelet:n1/extra')).toMatch(/not an identity/);
    // Node quotes a value with special characters as a JSON string: it is one value, not two.
    expect(none('URI:"spiffe://cluster.local/kubedirect/scheduler, URI:x"')).toMatch(/not an identity/);
  });
});

// ---------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------

describe('tls configuration', () => {
  const chain = { functions: [{ name: 'fn', priority: 0 }], nodes: [{ name: 'n1', capacity: 10 }], variant: 'correct' };
  const stages = (host: string): Record<string, { address: string; dataDir: string }> =>
    Object.fromEntries(['autoscaler', 'deployment', 'replicaset', 'scheduler', 'kubelet:n1'].map((s, i) => [s, { address: `${host}:${7100 + i}`, dataDir: `data/${i}` }]));
  const write = (name: string, config: unknown): string => {
    const dir = join(root, 'configs', name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'cluster.json'), JSON.stringify(config));
    return join(dir, 'cluster.json');
  };

  it('refuses a non-loopback address without tls, naming the fix', () => {
    const file = write('plain', { chain, stages: stages('10.0.0.5') });
    expect(() => loadClusterConfig(file)).toThrow(/not loopback; without TLS .*kd certs/);
  });

  it('names the missing certificate files and the kd certs command', () => {
    const file = write('missing', { chain, stages: stages('10.0.0.5'), tls: { trustDomain, certsDir: 'certs' } });
    expect(() => loadClusterConfig(file)).toThrow(/missing files .*ca\.crt.*run "npx kd certs --out .*certs --config /);
  });

  it('accepts non-loopback addresses with tls once the certificates exist, and rejects bad tls sections', async () => {
    const file = write('ok', { chain, stages: stages('10.0.0.5'), tls: { trustDomain, certsDir: 'certs' } });
    // --out defaults to the configuration's tls.certsDir.
    expect(await main(['certs', '--config', file], noPrint)).toBe(0);
    const config = loadClusterConfig(file);
    expect(config.tls?.trustDomain).toBe(trustDomain);
    expect(config.tls?.identities['kubelet:n1']?.cert).toBe(join(root, 'configs', 'ok', 'certs', 'kubelet-n1.crt'));
    expect(config.tls?.operatorIdentities).toEqual(['operator']);
    expect(() => loadClusterConfig(write('bad-domain', { chain, stages: stages('127.0.0.1'), tls: { trustDomain: 'Not Valid', certsDir: 'certs' } }))).toThrow(/tls.trustDomain/);
    expect(() => loadClusterConfig(write('no-dir', { chain, stages: stages('127.0.0.1'), tls: { trustDomain } }))).toThrow(/certsDir.*or "ca"/);
    expect(() => loadClusterConfig(write('typo', { chain, stages: stages('127.0.0.1'), tls: { trustDomain, certDir: 'certs' } }))).toThrow(/unknown key "certDir"/);
  });
});

// ---------------------------------------------------------------------------
// A cluster with mutual TLS
// ---------------------------------------------------------------------------

describe('a cluster with mutual TLS (kd up --tls)', () => {
  const dir = join(root, 'cluster');
  const certs = join(dir, 'certs');
  let config: ClusterConfig;

  beforeAll(async () => {
    const lines: string[] = [];
    expect(await runUp(['--tls', '--nodes', '2', '--dir', dir], (l) => lines.push(l))).toBe(0);
    expect(lines.join('\n')).toContain('mutual TLS, trust domain cluster.local');
    config = loadClusterConfig(configFileOf(dir));
  }, 120_000);

  afterAll(async () => {
    await stopCluster(dir, 5_000);
  }, 30_000);

  function material(dirOf: string, identity: string, caDir = dirOf): TlsMaterial {
    return { trustDomain, identity, ca: readFileSync(join(caDir, 'ca.crt')), cert: readFileSync(certFileOf(dirOf, identity)), key: readFileSync(keyFileOf(dirOf, identity)) };
  }

  /** Inspect as the operator: what must not change when a peer is refused. */
  async function protocolState(stage: StageId): Promise<Pick<WireStageState, 'incarnation' | 'pods' | 'scales'> & { links: Array<{ link: string; state: string; epoch: number }> }> {
    const s = await getStageState(stageTargetOf(config, stage));
    return { incarnation: s.incarnation, pods: s.pods, scales: s.scales, links: s.links.map((l) => ({ link: l.link_id, state: l.state, epoch: l.epoch })) };
  }

  interface Outcome {
    readonly code: number;
    readonly reason: string | null;
    readonly details: string;
    readonly frames: DownstreamFrame[];
  }

  /** Opens a Link.Session to `stage` with the given channel credentials, sends `frames`, collects the end. */
  function session(stage: StageId, credentials: grpc.ChannelCredentials, frames: readonly UpstreamFrame[]): Promise<Outcome> {
    const client = new LinkClient(config.stages[stage]?.address ?? '', credentials, tlsChannelOptions);
    const method = (LinkClient.service as grpc.ServiceDefinition)['Session'];
    if (method === undefined) throw new Error('no Session');
    const call = client.makeBidiStreamRequest(
      method.path,
      method.requestSerialize as (f: UpstreamFrame) => Buffer,
      method.responseDeserialize as (b: Buffer) => DownstreamFrame,
      new grpc.Metadata(),
      { deadline: Date.now() + 10_000 },
    );
    const received: DownstreamFrame[] = [];
    return new Promise((resolve) => {
      call.on('data', (f: DownstreamFrame) => received.push(f));
      call.on('error', () => {});
      call.on('status', (s: grpc.StatusObject) => {
        client.close();
        resolve({ code: s.code, reason: reasonOfStatus(s), details: s.details, frames: received });
      });
      for (const f of frames) call.write(f);
    });
  }

  function unary(constructor: grpc.ServiceClientConstructor, stage: StageId, credentials: grpc.ChannelCredentials, method: string, request: unknown): Promise<Outcome> {
    const client = new constructor(config.stages[stage]?.address ?? '', credentials, tlsChannelOptions);
    const call = (client as unknown as Record<string, (r: unknown, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null) => void) => void>)[method];
    if (call === undefined) throw new Error(`no method ${method}`);
    return new Promise((resolve) => {
      call.call(client, request, { deadline: Date.now() + 5_000 }, (error) => {
        client.close();
        resolve({ code: error?.code ?? grpc.status.OK, reason: error === null ? null : reasonOfStatus(error), details: error?.details ?? '', frames: [] });
      });
    });
  }

  const hello = (upstream: string, downstream: string, epoch: number): UpstreamFrame => ({
    epoch,
    hello: { upstream_stage_id: upstream, downstream_stage_id: downstream, protocol_version: 1 },
  });

  it('converges after a scale, every link and operator call over mutual TLS 1.3', async () => {
    expect(await runScale(['fn', '10', '--dir', dir], noPrint)).toBe(0);
    const started = Date.now();
    let status = await clusterStatus(config);
    while (!(status.converged && status.functions[0]?.running === 10) && Date.now() - started < testWaitMsMax) {
      await sleep(250);
      status = await clusterStatus(config);
    }
    expect(status.problems).toEqual([]);
    expect(status.converged).toBe(true);
    expect(status.functions[0]).toMatchObject({ desired: 10, running: 10 });
    expect(await runStatus(['--dir', dir, '--wait', '0'], noPrint)).toBe(0);
    // Every stage says it listens with TLS.
    for (const stage of Object.keys(config.stages)) expect(readFileSync(join(dir, 'logs', `${stage.replace(':', '-')}.log`), 'utf8')).toMatch(/"event":"stage\.listening".*"tls":true/);
  }, 90_000);

  it('refuses a Link.Session from an authenticated peer that is not the configured upstream (PERMISSION_DENIED, UNAUTHORIZED_UPSTREAM), before any epoch, with no state change', async () => {
    const before = await protocolState('kubelet:n1');
    // The ReplicaSet's own certificate, with a hello that claims to be the Scheduler.
    const stranger = await session('kubelet:n1', channelCredentialsOf(material(certs, 'replicaset'), 'kubelet:n1'), [hello('scheduler', 'kubelet:n1', 2 ** 40)]);
    expect([stranger.code, stranger.reason]).toEqual([grpc.status.PERMISSION_DENIED, 'UNAUTHORIZED_UPSTREAM']);
    expect(stranger.details).toContain('"replicaset" may not open a Link.Session on scheduler>kubelet:n1');
    expect(stranger.frames).toEqual([]);
    expect(await protocolState('kubelet:n1')).toEqual(before);
    expect(readFileSync(join(dir, 'logs', 'kubelet-n1.log'), 'utf8')).toMatch(/"event":"call\.refused".*"peer":"replicaset","reason":"UNAUTHORIZED_UPSTREAM"/);

    // A certificate of the cluster's CA whose identity is of another trust domain: no identity here, UNAUTHENTICATED.
    const foreign = join(root, 'foreign-domain');
    mkdirSync(foreign, { recursive: true });
    for (const file of ['ca.crt', 'ca.key']) writeFileSync(join(foreign, file), readFileSync(join(certs, file)), { mode: 0o600 });
    expect(await main(['certs', '--out', foreign, '--nodes', '1', '--trust-domain', 'other.test'], noPrint)).toBe(0);
    const unauthenticated = await session('kubelet:n1', channelCredentialsOf(material(foreign, 'scheduler'), 'kubelet:n1'), [hello('scheduler', 'kubelet:n1', 2 ** 40)]);
    expect([unauthenticated.code, unauthenticated.reason]).toEqual([grpc.status.UNAUTHENTICATED, 'UNAUTHENTICATED']);
    expect(unauthenticated.details).toContain('spiffe://other.test/kubedirect/scheduler" is not an identity of the trust domain cluster.local');
    expect(await protocolState('kubelet:n1')).toEqual(before);
  });

  it('rejects a Hello whose upstream_stage_id is not the authenticated identity (UNAUTHORIZED_UPSTREAM), with no state change', async () => {
    const before = await protocolState('kubelet:n1');
    // Authenticated as the Scheduler (the configured upstream), the hello names the ReplicaSet.
    const lying = await session('kubelet:n1', channelCredentialsOf(material(certs, 'scheduler'), 'kubelet:n1'), [hello('replicaset', 'kubelet:n1', 2 ** 40)]);
    expect([lying.code, lying.reason]).toEqual([grpc.status.PERMISSION_DENIED, 'UNAUTHORIZED_UPSTREAM']);
    expect(lying.frames.at(-1)?.rejected?.reason).toBe('UNAUTHORIZED_UPSTREAM');
    expect(await protocolState('kubelet:n1')).toEqual(before);
  });

  it('fails the TLS handshake of a client without a certificate, with a certificate of another CA, or with TLS 1.2', async () => {
    const before = await protocolState('scheduler');
    const ca = readFileSync(join(certs, 'ca.crt'));
    const acceptAnyName = { checkServerIdentity: () => undefined };
    const noCert = await session('scheduler', grpc.credentials.createSsl(ca, null, null, acceptAnyName), [hello('replicaset', 'scheduler', 2 ** 40)]);
    expect([grpc.status.UNAVAILABLE, grpc.status.UNAUTHENTICATED]).toContain(noCert.code);
    expect(noCert.details).toMatch(/certificate required/);

    // A CA of its own, issuing a certificate with the right identity (the ReplicaSet).
    const otherCa = join(root, 'other-ca');
    expect(await main(['certs', '--out', otherCa, '--nodes', '2'], noPrint)).toBe(0);
    const forged = await session('scheduler', channelCredentialsOf(material(otherCa, 'replicaset', certs), 'scheduler'), [hello('replicaset', 'scheduler', 2 ** 40)]);
    expect([grpc.status.UNAVAILABLE, grpc.status.UNAUTHENTICATED]).toContain(forged.code);
    // What the server says, seen on a bare TLS connection (grpc-js only reports "failed to connect").
    // (Node's server checks the chain after the TLS 1.3 handshake and then closes the socket without an alert.)
    expect(await rawTls({ ca, cert: readFileSync(certFileOf(otherCa, 'replicaset')), key: readFileSync(keyFileOf(otherCa, 'replicaset')) })).toMatch(/^closed$|alert unknown ca/);
    expect(await rawTls({ ca })).toMatch(/alert certificate required/);
    // The control: the ReplicaSet's real certificate gets an HTTP/2 connection.
    expect(await rawTls({ ca, cert: readFileSync(certFileOf(certs, 'replicaset')), key: readFileSync(keyFileOf(certs, 'replicaset')) })).toBe('accepted');

    // A plaintext client gets nothing either.
    const plain = await unary(InspectClient, 'scheduler', grpc.credentials.createInsecure(), 'GetState', {});
    expect(plain.code).toBe(grpc.status.UNAVAILABLE);

    // TLS 1.2 is not offered (REQ-SEC-001: TLS 1.3 only).
    expect(await rawTls({ ca, cert: readFileSync(certFileOf(certs, 'replicaset')), key: readFileSync(keyFileOf(certs, 'replicaset')), maxVersion: 'TLSv1.2' })).toMatch(/alert protocol version/);
    expect(await protocolState('scheduler')).toEqual(before);
  });

  /**
   * A bare TLS connection to the Scheduler: 'accepted' when the server sends HTTP/2 data
   * (its SETTINGS) after the handshake, else the error (the server's alert) or 'closed'.
   */
  function rawTls(options: ConnectionOptions): Promise<string> {
    const [host, port] = (config.stages['scheduler']?.address ?? '').split(':');
    return new Promise((resolve) => {
      const socket = tlsConnect({ host, port: Number(port), servername: 'kubedirect', checkServerIdentity: () => undefined, ALPNProtocols: ['h2'], ...options });
      const timer = setTimeout(() => socket.destroy(), 5_000);
      const done = (outcome: string): void => {
        clearTimeout(timer);
        socket.destroy();
        resolve(outcome);
      };
      socket.on('data', () => done('accepted'));
      socket.on('error', (e) => done(e.message));
      socket.on('close', () => done('closed'));
    });
  }

  it('refuses a server whose certificate is not the expected downstream (REQ-SEC-004)', async () => {
    // The operator means to reach kubelet:n2 but dials kubelet:n1's address.
    const outcome = await unary(InspectClient, 'kubelet:n1', channelCredentialsOf(material(certs, 'operator'), 'kubelet:n2'), 'GetState', {});
    expect(outcome.code).toBe(grpc.status.UNAVAILABLE);
    expect(outcome.details).toContain('the server is not spiffe://cluster.local/kubedirect/kubelet:n2: it is spiffe://cluster.local/kubedirect/kubelet:n1');
  });

  it('serves Inspect and Scaler only to the operator identity (REQ-SEC-005)', async () => {
    const before = await protocolState('autoscaler');
    const asScheduler = channelCredentialsOf(material(certs, 'scheduler'), 'autoscaler');
    const inspect = await unary(InspectClient, 'autoscaler', asScheduler, 'GetState', {});
    expect([inspect.code, inspect.reason]).toEqual([grpc.status.PERMISSION_DENIED, 'UNAUTHORIZED_UPSTREAM']);
    const scale = await unary(ScalerClient, 'autoscaler', channelCredentialsOf(material(certs, 'deployment'), 'autoscaler'), 'SetScale', { function: 'fn', desired: 0 });
    expect([scale.code, scale.reason]).toEqual([grpc.status.PERMISSION_DENIED, 'UNAUTHORIZED_UPSTREAM']);
    expect(await protocolState('autoscaler')).toEqual(before);
    const asOperator = await unary(InspectClient, 'autoscaler', channelCredentialsOf(material(certs, 'operator'), 'autoscaler'), 'GetState', {});
    expect(asOperator.code).toBe(grpc.status.OK);
  });

  it('an upstream stage sends no hello to a server that is not its configured downstream, and reconnects once the right one is back (REQ-SEC-004)', async () => {
    // kubelet:n2 goes away; in its place, on its address, a server with kubelet:n1's certificate.
    const pid = pidOf(dir, 'kubelet:n2');
    expect(pid).not.toBeNull();
    await stopProcess(pid ?? 0, 5_000);
    const impostor = new grpc.Server();
    const framesReceived: UpstreamFrame[] = [];
    impostor.addService(LinkClient.service, { Session: (call: grpc.ServerDuplexStream<UpstreamFrame, DownstreamFrame>) => call.on('data', (f: UpstreamFrame) => framesReceived.push(f)) });
    const tls = config.tls;
    if (tls === undefined) throw new Error('the cluster has no tls');
    const credentials = serverCredentialsOf(loadTlsMaterial(tls, 'kubelet:n1'), accessPolicyOf(config, tls, 'kubelet:n1'), () => {});
    await new Promise<number>((resolve, reject) => impostor.bindAsync(config.stages['kubelet:n2']?.address ?? '', credentials, (e, port) => (e === null ? resolve(port) : reject(e))));
    const schedulerLog = join(dir, 'logs', 'scheduler.log');
    const refusedBefore = (readFileSync(schedulerLog, 'utf8').match(/"event":"link\.server-refused"/g) ?? []).length;
    const deadline = Date.now() + testWaitMsMax;
    let refused = refusedBefore;
    while (refused === refusedBefore && Date.now() < deadline) {
      await sleep(200);
      refused = (readFileSync(schedulerLog, 'utf8').match(/"event":"link\.server-refused"/g) ?? []).length;
    }
    impostor.forceShutdown();
    expect(refused).toBeGreaterThan(refusedBefore);
    expect(readFileSync(schedulerLog, 'utf8')).toMatch(/"event":"link\.server-refused","downstream":"kubelet:n2","why":"the server is not spiffe:\/\/cluster\.local\/kubedirect\/kubelet:n2: it is spiffe:\/\/cluster\.local\/kubedirect\/kubelet:n1/);
    expect(framesReceived).toEqual([]);

    // The real kubelet:n2 again: the chain converges.
    startStageProcess(dir, 'kubelet:n2');
    const started = Date.now();
    let status = await clusterStatus(config);
    while (!(status.converged && status.functions[0]?.running === 10) && Date.now() - started < testWaitMsMax) {
      await sleep(250);
      status = await clusterStatus(config);
    }
    expect(status.problems).toEqual([]);
    expect(status.converged).toBe(true);
  }, 90_000);
});
