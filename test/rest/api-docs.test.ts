// docs/api.md stays true: its `sh` examples run, in order, in one bash against a fresh demo host, and
// its tables of routes and filterable fields are checked against the route table and the field maps.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contract } from '../../core/contract/contract.ts';
import { can, PERMISSIONS, type Permission } from '../../core/contract/permissions.ts';
import { OPERATOR_ROLES, type OperatorRole } from '../../core/domain/enums.ts';
import { startHost, type RunningHost } from '../../core/host/host.ts';
import type { FieldMap } from '../../core/query/filter-sql.ts';
import { ENTRY_FILTER_FIELDS, INCIDENT_FILTER_FIELDS, type KeysetFilterFields } from '../../core/rest/entry-filter.ts';
import { ROUTES, type RestRoute } from '../../core/rest/routes.ts';
import { ACCESS_GROUP_FIELDS } from '../../core/store/repos/access-groups.ts';
import { IQ_FIELDS } from '../../core/store/repos/iqs.ts';
import { LOCK_FIELDS } from '../../core/store/repos/locks.ts';
import { TAG_FIELDS } from '../../core/store/repos/tags.ts';
import { USER_FIELDS } from '../../core/store/repos/users.ts';

const ROOT = join(import.meta.dirname, '../..');
const DOC_FILE = join(ROOT, 'docs/api.md');
const DOC = readFileSync(DOC_FILE, 'utf8');

/** Which field map is behind each list; a list route missing here fails the test below. */
const FIELDS_OF_LIST: Record<string, FieldMap> = {
  '/iqs': IQ_FIELDS,
  '/locks': LOCK_FIELDS,
  '/users': USER_FIELDS,
  '/access_groups/{}/users': USER_FIELDS,
  '/tags': TAG_FIELDS,
  '/access_groups': ACCESS_GROUP_FIELDS,
};
/** The audit-trail lists read by keyset, and the fields their $filter translation takes. */
const FIELDS_OF_KEYSET_LIST: Record<string, KeysetFilterFields> = {
  '/entries': ENTRY_FILTER_FIELDS,
  '/incidents': INCIDENT_FILTER_FIELDS,
};

/** `/locks/:id` and `/locks/{lock_id}` both become `/locks/{}`. */
const normalise = (path: string) => path.replace(/:\w+|\{\w+\}/g, '{}');
const inputKeys = (route: RestRoute) => Object.keys((contract[route.name].input as unknown as { shape?: object }).shape ?? {});
/** Lists paged with $top/$skip, and lists paged with a continuation token (cursor). */
const isList = (route: RestRoute) => route.method === 'GET' && inputKeys(route).includes('top');
const isKeysetList = (route: RestRoute) => route.method === 'GET' && inputKeys(route).includes('cursor');

interface Block {
  code: string;
  line: number;
}

function shBlocks(md: string): Block[] {
  const blocks: Block[] = [];
  for (const m of md.matchAll(/^```sh\n([\s\S]*?)^```\s*$/gm)) {
    blocks.push({ code: m[1]!, line: md.slice(0, m.index).split('\n').length + 1 });
  }
  return blocks;
}

/** Rows of a markdown table as trimmed cells. */
function tableRows(md: string): string[][] {
  return md
    .split('\n')
    .filter((l) => l.startsWith('|') && !/^\|[\s|:-]+\|$/.test(l))
    .map((l) => l.replace(/\\\|/g, '¦').split('|').slice(1, -1).map((c) => c.trim()));
}

const backticked = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);

describe('docs/api.md', () => {
  describe('route table', () => {
    const section = DOC.slice(DOC.indexOf('<!-- routes:begin'), DOC.indexOf('<!-- routes:end -->'));
    const rows = tableRows(section)
      .slice(1)
      .map(([method, path, command, permission, status]) => ({
        method: backticked(method!)[0],
        path: backticked(path!)[0],
        command: backticked(command!)[0],
        permission: backticked(permission!)[0],
        status: Number(status),
      }));

    it('has the table', () => {
      expect(section.length).toBeGreaterThan(0);
      expect(rows.length).toBeGreaterThan(0);
    });

    it('documents every route of ROUTES with its command, permission and status', () => {
      const missing: string[] = [];
      for (const route of ROUTES) {
        const path = normalise(`/sites/:site_id${route.path}`);
        const row = rows.find((r) => r.method === route.method && r.path !== undefined && normalise(r.path) === path);
        if (!row) {
          missing.push(`${route.method} ${path}`);
          continue;
        }
        const what = `${route.method} ${path}`;
        expect(row.command, what).toBe(route.name);
        expect(row.permission, what).toBe(contract[route.name].permission);
        expect(row.status, what).toBe(route.status ?? 200);
      }
      expect(missing, 'routes missing from the table in docs/api.md').toEqual([]);
    });

    it('lists no route that does not exist, and none twice', () => {
      const known = new Set(ROUTES.map((r) => `${r.method} ${normalise(`/sites/:site_id${r.path}`)}`));
      const documented = rows.map((r) => `${r.method} ${normalise(r.path ?? '')}`);
      expect(documented.filter((d) => !known.has(d))).toEqual([]);
      expect(documented.length).toBe(new Set(documented).size);
    });
  });

  it('has the permissions of each role as core/contract/permissions.ts gives them', () => {
    const [header, ...rows] = tableRows(DOC).filter((cells) => cells[0] === 'Permission' || (cells[0]?.startsWith('`') && backticked(cells[0]).every((p) => (PERMISSIONS as readonly string[]).includes(p))));
    const roles = header!.slice(1);
    expect([...roles].sort()).toEqual([...OPERATOR_ROLES].sort());
    const documented = new Set(rows.flatMap((cells) => backticked(cells[0]!)));
    expect([...documented].sort()).toEqual([...PERMISSIONS].sort());
    for (const cells of rows) {
      for (const permission of backticked(cells[0]!)) {
        roles.forEach((role, i) => expect(cells[i + 1] === '✓', `${role} ${permission}`).toBe(can(role as OperatorRole, permission as Permission)));
      }
    }
  });

  describe('filterable fields', () => {
    const rows = tableRows(DOC).filter((cells) => cells[0]?.startsWith('`/') && cells.length === 2);

    it('has a row for every list route, with exactly the fields of its field map', () => {
      const lists = [...new Set(ROUTES.filter(isList).map((r) => normalise(r.path)))];
      expect(lists.length).toBeGreaterThan(5);
      for (const list of lists) {
        const fields = FIELDS_OF_LIST[list];
        expect(fields, `add ${list} to FIELDS_OF_LIST in this test`).toBeDefined();
        const row = rows.find((cells) => backticked(cells[0]!).map(normalise).includes(list));
        expect(row, `docs/api.md: no row for ${list} in the table of filterable fields`).toBeDefined();
        // Enum values are listed in brackets after their field; the rest of the cell names fields.
        const cell = row![1]!;
        const names = backticked(cell.replace(/\([^)]*\)/g, ''));
        const plain = names.filter((n) => !n.includes('/'));
        expect([...plain].sort(), list).toEqual(Object.keys(fields!).sort());
        for (const nested of names.filter((n) => n.includes('/'))) {
          const flat = nested === 'user/id' ? 'user_id' : nested.replace(/^user\//, '');
          expect(Object.keys(fields!), `${list}: ${nested}`).toContain(flat);
        }
        for (const [name, spec] of Object.entries(fields!)) {
          if (spec.type !== 'enum') continue;
          const values = new RegExp(`\`${name}\` \\(([^)]*)\\)`).exec(cell)?.[1];
          expect(values, `${list}: the values of ${name}`).toBeDefined();
          expect(backticked(values!), `${list}: the values of ${name}`).toEqual([...spec.values!]);
        }
      }
    });

    it('has a row for each audit-trail list, with exactly the fields its $filter translation takes, their values and operators', () => {
      const lists = [...new Set(ROUTES.filter(isKeysetList).map((r) => normalise(r.path)))];
      expect(lists.sort()).toEqual(Object.keys(FIELDS_OF_KEYSET_LIST).sort());
      for (const list of lists) {
        const fields = FIELDS_OF_KEYSET_LIST[list]!;
        const row = rows.find((cells) => backticked(cells[0]!).map(normalise).includes(list));
        expect(row, `docs/api.md: no row for ${list} in the table of filterable fields`).toBeDefined();
        const cell = row![1]!;
        expect(backticked(cell.replace(/\([^)]*\)/g, '')).sort(), list).toEqual(Object.keys(fields).sort());
        // Each field is followed by its values (enums) or by its operators in brackets; fields that take
        // only eq may share one bracket at the end of their group.
        for (const [name, spec] of Object.entries(fields)) {
          const bracket = new RegExp(`\`${name}\` \\(([^)]*)\\)`).exec(cell)?.[1];
          if (spec.type === 'enum') expect(backticked(bracket ?? ''), `${list}: the values of ${name}`).toEqual([...spec.values!]);
          else if (spec.ops.join() !== 'eq') expect(backticked(bracket ?? ''), `${list}: the operators of ${name}`).toEqual([...spec.ops]);
        }
        expect(cell, `${list}: say that the conditions are joined by and`).toMatch(/joined by and/);
      }
    });
  });

  describe('examples', () => {
    let host: RunningHost;
    let dataDir: string;
    const blocks = shBlocks(DOC);

    beforeAll(async () => {
      const curl = spawnSync('bash', ['-c', 'command -v curl']);
      if (curl.status !== 0) throw new Error('curl is not installed: the docs/api.md examples need it (apt-get install curl)');
      dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-api-docs-'));
      host = await startHost({ dataDir, port: 0, host: '127.0.0.1', demo: true, ownerPassword: 'correct horse battery', version: 'test', log: () => {} });
    });

    afterAll(async () => {
      await host?.close();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    });

    it('has examples, the first of which sets BASE only when it is not set', () => {
      expect(blocks.length).toBeGreaterThan(10);
      expect(blocks[0]!.code).toContain('BASE=${BASE:-http://127.0.0.1:7373}');
    });

    it('has a curl example for every route', () => {
      const examples = new Set<string>();
      for (const b of blocks) {
        for (const cmd of b.code.replace(/\\\n/g, ' ').split('\n')) {
          const url = /"\$BASE\/v1\.[12](\/sites\/[^"?]*)"/.exec(cmd)?.[1];
          if (!url || !cmd.includes('curl ')) continue;
          const method = /-X (\w+)/.exec(cmd)?.[1] ?? (/ (-d|--data\S*) /.test(cmd) && !/ -G /.test(cmd) ? 'POST' : 'GET');
          examples.add(`${method} ${url.replace(/\$\w+/g, '{}')}`);
        }
      }
      const missing = ROUTES.map((r) => `${r.method} ${normalise(`/sites/:site_id${r.path}`)}`).filter((k) => !examples.has(k));
      expect(missing, 'routes without a curl example in docs/api.md').toEqual([]);
    });

    it('every sh block runs, in order, against a demo host', async () => {
      const script = [
        'set -euo pipefail',
        `BASE='${host.url}'`,
        ...blocks.map((b, i) => `echo '### block ${i + 1} (docs/api.md line ${b.line})' >&2\n${b.code}`),
        "echo '### done' >&2",
      ].join('\n');
      const env = { PATH: [dirname(process.execPath), process.env.PATH ?? ''].join(delimiter), HOME: dataDir, LANG: 'C.UTF-8' };
      const run = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
        const child = spawn('bash', ['-c', script], { cwd: dataDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
        child.on('error', reject);
        child.on('close', (code) => {
          clearTimeout(timer);
          resolve({ code, stdout, stderr });
        });
      });
      const last = [...run.stderr.matchAll(/^### (.*)$/gm)].at(-1)?.[1];
      const report = `stopped in ${last}\n--- stderr (end)\n${run.stderr.slice(-3000)}\n--- stdout (end)\n${run.stdout.slice(-2000)}`;
      expect(run.code, report).toBe(0);
      expect(last).toBe('done');
      // The error examples print their status: all of them must be client errors, none a crash.
      const statuses = [...run.stdout.matchAll(/^HTTP (\d{3})$/gm)].map((m) => Number(m[1]));
      expect(statuses.length).toBeGreaterThan(0);
      expect(statuses.filter((s) => s < 400 || s >= 500), report).toEqual([]);
    }, 90_000);
  });
});
