/**
 * The images of the `cri` sandbox driver, built here from Debian's busybox-static (no
 * registry): one OCI image archive holding two images that share one layer (/bin/busybox
 * and /bin/sh):
 *
 *   kubedirect.local/sandbox:1   the pod's container: its command comes from the Kubelet
 *   kubedirect.local/pause:1     the pod sandbox's pause container (containerd's sandbox_image)
 *
 * `npm run cri:image` writes out/cri/sandbox-images.tar and, with --containerd SOCKET,
 * imports it into containerd's `k8s.io` namespace (`ctr images import`), which is where the
 * CRI plugin looks. The archive is reproducible: same busybox, same bytes.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, copyFileSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Where Debian's busybox-static puts its binary. */
export const busyboxPath = '/bin/busybox';
export const sandboxImageName = 'kubedirect.local/sandbox:1';
export const pauseImageName = 'kubedirect.local/pause:1';
/** The containerd namespace of the CRI plugin. */
export const criNamespace = 'k8s.io';

function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

interface Blob {
  readonly digest: string;
  readonly size: number;
}

function writeBlob(layout: string, data: Buffer | string): Blob {
  const digest = sha256(data);
  writeFileSync(join(layout, 'blobs', 'sha256', digest), data);
  return { digest: `sha256:${digest}`, size: Buffer.byteLength(data) };
}

/** A deterministic tar of `dir` (sorted names, time 0, owner root). */
async function tarOf(dir: string, out: string): Promise<void> {
  await run('tar', ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '--format=posix', '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime', '-C', dir, '-cf', out, '.']);
}

function imageManifest(layout: string, layer: Blob, diffId: string, entrypoint: readonly string[], name: string): Record<string, unknown> {
  const config = JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    config: { Entrypoint: entrypoint, Env: ['PATH=/bin'], WorkingDir: '/' },
    rootfs: { type: 'layers', diff_ids: [diffId] },
  });
  const configBlob = writeBlob(layout, config);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...configBlob },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer }],
  });
  const manifestBlob = writeBlob(layout, manifest);
  return {
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    ...manifestBlob,
    platform: { architecture: 'amd64', os: 'linux' },
    annotations: { 'io.containerd.image.name': name, 'org.opencontainers.image.ref.name': name.slice(name.lastIndexOf(':') + 1) },
  };
}

/** Builds the OCI archive of both images at `out`; throws with the fix when busybox-static is missing. */
export async function buildSandboxImages(out: string): Promise<{ readonly archive: string; readonly bytes: number }> {
  if (!existsSync(busyboxPath)) throw new Error(`${busyboxPath} is missing: install Debian's busybox-static (apt-get install -y busybox-static)`);
  const work = mkdtempSync(join(tmpdir(), 'kd-cri-image-'));
  try {
    const rootfs = join(work, 'rootfs');
    mkdirSync(join(rootfs, 'bin'), { recursive: true });
    for (const dir of ['proc', 'sys', 'dev', 'etc', 'tmp']) mkdirSync(join(rootfs, dir));
    copyFileSync(busyboxPath, join(rootfs, 'bin', 'busybox'));
    chmodSync(join(rootfs, 'bin', 'busybox'), 0o755);
    symlinkSync('busybox', join(rootfs, 'bin', 'sh'));
    symlinkSync('busybox', join(rootfs, 'bin', 'sleep'));
    const layout = join(work, 'layout');
    mkdirSync(join(layout, 'blobs', 'sha256'), { recursive: true });
    const layerTar = join(work, 'layer.tar');
    await tarOf(rootfs, layerTar);
    const layerBytes = readFileSync(layerTar);
    const layer = writeBlob(layout, layerBytes);
    const diffId = layer.digest; // uncompressed: the diff id is the layer's digest
    // The pause container only has to live until its sandbox is stopped.
    const manifests = [
      imageManifest(layout, layer, diffId, ['/bin/busybox', 'sleep', '2147483647'], pauseImageName),
      imageManifest(layout, layer, diffId, ['/bin/sh'], sandboxImageName),
    ];
    writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    writeFileSync(join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests }));
    const archive = resolve(out);
    mkdirSync(dirname(archive), { recursive: true });
    await tarOf(layout, archive);
    return { archive, bytes: readFileSync(archive).length };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Imports the archive into the `k8s.io` namespace of the containerd at `socket` (needs Debian's containerd: ctr). */
export async function importSandboxImages(archive: string, socket: string): Promise<void> {
  await run('ctr', ['--address', socket, '--namespace', criNamespace, 'images', 'import', '--all-platforms', archive]);
}

async function main(argv: readonly string[]): Promise<void> {
  const outAt = argv.indexOf('--out');
  const socketAt = argv.indexOf('--containerd');
  const out = outAt >= 0 ? argv[outAt + 1] : join('out', 'cri', 'sandbox-images.tar');
  if (out === undefined || (socketAt >= 0 && argv[socketAt + 1] === undefined)) throw new Error('usage: npm run cri:image -- [--out FILE] [--containerd SOCKET]');
  const built = await buildSandboxImages(out);
  console.log(`wrote ${built.archive} (${built.bytes} bytes): ${sandboxImageName}, ${pauseImageName}`);
  const socket = socketAt >= 0 ? argv[socketAt + 1] : undefined;
  if (socket !== undefined) {
    await importSandboxImages(built.archive, socket);
    console.log(`imported into ${socket}, namespace ${criNamespace}`);
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname))
  main(process.argv.slice(2)).catch((error: Error) => {
    console.error(`cri:image: ${error.message}`);
    process.exitCode = 1;
  });
