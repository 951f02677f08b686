// Issue 2 figure: the REST list of 50k users answers its first page in under 20 ms.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildRestServer } from '../core/rest/server.ts';
import { GatehouseService } from '../core/service/service.ts';
import { getSite } from '../core/store/repos/site.ts';
import { buildLargeSite } from './fixtures/large-site.ts';
import { ms, now, percentile, report, round } from './lib.ts';

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'gh-bench-'));
  try {
    const db = buildLargeSite(join(dir, 'site.db'), { users: 50_000, locks: 500, groups: 50, iqs: 20 });
    const service = new GatehouseService(db);
    const server = buildRestServer({ service, version: 'bench' });
    await server.listen({ port: 0, host: '127.0.0.1' });
    const addr = server.server.address() as { port: number };
    const base = `http://127.0.0.1:${addr.port}/v1.1/sites/${getSite(db.read)!.id}`;
    const { token } = service.run(null, 'auth.login', { username: 'owner', password: 'correct horse battery' });
    const headers = { authorization: `Bearer ${token}` };
    const measure = async (path: string, n = 300) => {
      for (let i = 0; i < 20; i++) await (await fetch(base + path, { headers })).arrayBuffer();
      const samples: number[] = [];
      for (let i = 0; i < n; i++) {
        const t = now();
        const res = await fetch(base + path, { headers });
        await res.arrayBuffer();
        if (res.status !== 200) throw new Error(`${path}: HTTP ${res.status}`);
        samples.push(ms(t));
      }
      return { p50_ms: round(percentile(samples, 50)), p95_ms: round(percentile(samples, 95)) };
    };
    report('rest.users_first_page', { users: 50_000, top: 100, ...(await measure('/users')), target_ms: 20 });
    report('rest.users_filtered_page', { users: 50_000, filter: "startswith(last_name,'Bakker 1')", ...(await measure(`/users?$filter=${encodeURIComponent("startswith(last_name,'Bakker 1')")}`)) });
    report('rest.users_search_page', { users: 50_000, search: 'anna', ...(await measure('/users?$search=anna')) });
    await server.close();
    db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
