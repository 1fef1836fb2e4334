/** Free loopback ports for the testee and the suite's peers: the runtime's allocator, which never hands out a port twice. */
export { freePort } from '../../runtime/cluster/local-cluster.js';
