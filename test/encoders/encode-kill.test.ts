// Nothing half-done is lost or doubled when the PC dies while a card lies on the encoder: an attempt to
// encode a card is run in its own process and killed with SIGKILL at random moments (before, between
// and after the card's block writes and the commits), then tried again, until one finishes. The card
// then holds exactly the tag the person has (one tag, its number never given twice), every earlier
// attempt is closed, and the next person's card gets the next number.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fileMasterKey } from '../../core/secrets/master-key.ts';
import { SecretBox } from '../../core/secrets/secret-box.ts';
import { SiteKeys } from '../../core/secrets/site-keys.ts';
import { fullIntegrityCheck, openDatabase } from '../../core/store/db.ts';
import { verifyOperatorLog } from '../../core/store/repos/operator-log.ts';
import { genuine, readCard, writeCard } from './file-card-encoder.ts';

const CHILD = join(process.cwd(), 'test', 'encoders', 'encode-child.ts');
const root = mkdtempSync(join(tmpdir(), 'gh-enc-kill-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Runs one attempt; kills it `killAfterMs` after it started encoding (null: let it finish). */
type Outcome = { tag_number: string; issue_counter: number; repaired: boolean } | { error: string };

function attempt(dataDir: string, card: string, who: string, killAfterMs: number | null): Promise<{ killed: boolean; result: Outcome | null; out: string }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD, dataDir, card, who], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (b) => {
    out += String(b);
    if (killAfterMs !== null && out.includes('started\n') && !proc.killed) setTimeout(() => proc.kill('SIGKILL'), killAfterMs);
  });
  proc.stderr.on('data', (b) => (out += String(b)));
  return new Promise((resolve) =>
    proc.on('exit', (_code, signal) => {
      const line = out.split('\n').find((l) => l.startsWith('{'));
      resolve({ killed: signal === 'SIGKILL', result: line ? (JSON.parse(line) as never) : null, out });
    }),
  );
}

describe('encoding a card through SIGKILLs', () => {
  it('ends with each card and the database agreeing: one tag per person, no number given twice', async () => {
    const dataDir = join(root, 'data');
    mkdirSync(dataDir, { mode: 0o700 });
    const people = ['Ada', 'Grace', 'Edsger', 'Barbara', 'Alan'];
    let kills = 0;
    for (const [n, who] of people.entries()) {
      const card = join(root, `${who}.json`);
      writeCard(card, { uid: `04A1B2${(0xc0 + n).toString(16).toUpperCase()}`, data: ['', '', ''], trailer: 'transport' });
      // Killed 0–150 ms after the encode began (the blocks are 40 ms apart, so kills land before, between
      // and after the writes and the commits) until an attempt gets to the end; the ninth is let finish.
      for (let i = 0; ; i++) {
        const r = await attempt(dataDir, card, who, i < 8 ? Math.floor(Math.random() * 150) : null);
        if (r.killed) {
          kills++;
          continue;
        }
        expect(r.result, r.out).not.toBeNull();
        // An earlier attempt may have committed just before its kill: the card is then already theirs.
        if (r.result && 'error' in r.result) expect(r.result.error).toMatch(new RegExp(`already is ${who} Kill's tag`));
        break;
      }
    }
    expect(kills).toBeGreaterThanOrEqual(5);

    const sealed = openDatabase(join(dataDir, 'gatehouse.db'));
    const key = new SiteKeys(sealed, new SecretBox(await fileMasterKey(dataDir).load())).current()!.key;
    sealed.close();
    const db = openDatabase(join(dataDir, 'gatehouse.db'), { readonly: true });
    try {
      const tags = db.read
        .prepare(`SELECT u.first_name AS who, t.tag_number, t.card_uid, t.issue_counter FROM tags t JOIN users u ON u.id = t.user_id ORDER BY t.tag_number`)
        .all() as Array<{ who: string; tag_number: string; card_uid: string; issue_counter: number }>;
      // One tag each, numbered 1…5 in order: no number given twice, none lost to a killed attempt.
      expect(tags.map((t) => [t.who, t.tag_number, t.issue_counter])).toEqual(people.map((p, i) => [p, String(i + 1).padStart(10, '0'), 1]));
      for (const t of tags) {
        const card = readCard(join(root, `${t.who}.json`));
        expect(card.uid).toBe(t.card_uid);
        expect(genuine(card, key), t.who).toEqual({ tag: t.tag_number, counter: 1 });
      }
      expect(db.read.prepare(`SELECT count(*) FROM card_encodings WHERE state = 'verified'`).pluck().get()).toBe(people.length);
      expect(db.read.prepare(`SELECT count(*) FROM card_encodings WHERE state IN ('writing', 'failed')`).pluck().get()).toBe(0);
      expect(fullIntegrityCheck(db.read)).toEqual([]);
      expect(verifyOperatorLog(db.read).firstBreak).toBeNull();
    } finally {
      db.close();
    }
  }, 240_000);
});
