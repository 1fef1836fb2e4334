/** freePort never hands out the same port twice in one process (a cluster's addresses must all differ). */
import { expect, it } from 'vitest';
import { freePort } from '../cluster/local-cluster.js';

it('hands out 200 distinct ports', async () => {
  const ports: number[] = [];
  for (let i = 0; i < 200; i++) ports.push(await freePort());
  expect(new Set(ports).size).toBe(200);
  for (const p of ports) expect(p).toBeGreaterThan(0);
});
