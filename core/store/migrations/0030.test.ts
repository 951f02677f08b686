// Migration 0030: the people search index is filled from existing people and follows every change.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../db.ts';
import { ensureSite } from '../../host/first-run.ts';
import { GatehouseService } from '../../service/service.ts';
import { systemActor } from '../../service/actor.ts';

const names = (svc: GatehouseService, search: string) =>
  svc.run(systemActor('t'), 'users.list', { search }).items.map((u) => `${u.first_name} ${u.last_name}`).sort();

describe('migration 0030 (people search)', () => {
  it('indexes people who existed before it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-m30-'));
    try {
      const file = join(dir, 'v20.db');
      const v20 = openDatabase(file, { targetVersion: 20 });
      ensureSite(v20, { timeZone: 'Europe/Amsterdam', ownerPassword: 'correct horse battery' });
      v20.transaction((w) =>
        w.prepare(`INSERT INTO users (id, user_id, first_name, last_name, email, created_at, updated_at) VALUES ('u1', 'p1', 'Zoë', 'Bakker', 'zoe@example.com', 'x', 'x')`).run(),
      );
      v20.close();
      const db = openDatabase(file);
      expect(names(new GatehouseService(db), 'bakker')).toEqual(['Zoë Bakker']);
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('finds substrings ignoring case and diacritics, and by e-mail', () => {
    const db = openDatabase(':memory:');
    ensureSite(db, { timeZone: 'Europe/Amsterdam', ownerPassword: 'correct horse battery' });
    const svc = new GatehouseService(db);
    const sys = systemActor('t');
    const zoe = svc.run(sys, 'users.create', { first_name: 'Zoë', last_name: 'Bakker', email: 'zoe.b@example.com' });
    svc.run(sys, 'users.create', { first_name: 'Sem', last_name: 'de Jong', email: 'sem@example.com' });
    expect(names(svc, 'zoe')).toEqual(['Zoë Bakker']);
    expect(names(svc, 'BAKK')).toEqual(['Zoë Bakker']);
    expect(names(svc, 'de jong')).toEqual(['Sem de Jong']);
    expect(names(svc, 'example.com')).toEqual(['Sem de Jong', 'Zoë Bakker']);
    expect(names(svc, 'de')).toEqual(['Sem de Jong']);
    svc.run(sys, 'users.update', { id: zoe.id, last_name: 'Visser' });
    expect(names(svc, 'bakker')).toEqual([]);
    expect(names(svc, 'visser')).toEqual(['Zoë Visser']);
    svc.run(sys, 'users.delete', { id: zoe.id });
    expect(names(svc, 'zoe')).toEqual([]);
    expect(names(svc, '"quoted"')).toEqual([]);
    db.close();
  });
});
