/** Opens the backing store a cluster config names (file by default). */
import type { ClusterConfig } from '../config.js';
import { EtcdStore } from './etcd-store.js';
import { FileStore } from './file-store.js';
import { storeConfigOf, type BackingStore, type StoreConfig, type StoreLogger } from './store.js';

/** The data dir of the Autoscaler: where the file store keeps desired counts. */
function autoscalerDataDir(config: ClusterConfig): string {
  const endpoint = config.stages['autoscaler'];
  if (endpoint === undefined) throw new Error('no autoscaler in the cluster config');
  return endpoint.dataDir;
}

export function storeOf(config: ClusterConfig): StoreConfig {
  return config.store ?? storeConfigOf(undefined, autoscalerDataDir(config));
}

export function openStore(config: ClusterConfig, log: StoreLogger): BackingStore {
  const store = storeOf(config);
  return store.kind === 'etcd' ? new EtcdStore(store.endpoint, log) : new FileStore(autoscalerDataDir(config), store.dir, log);
}
