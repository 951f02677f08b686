// One front-desk attempt in its own process (test/encoders/encode-kill.test.ts kills it at random): open
// the installation, encode the card in the file for the person named, print the result as one JSON line.
import { join } from 'node:path';
import { EncoderManager } from '../../core/encoders/encoder-manager.ts';
import { ensureSite } from '../../core/host/first-run.ts';
import { fileMasterKey } from '../../core/secrets/master-key.ts';
import { SecretBox } from '../../core/secrets/secret-box.ts';
import { systemActor } from '../../core/service/actor.ts';
import { GatehouseService } from '../../core/service/service.ts';
import { openDatabase } from '../../core/store/db.ts';
import { FileCardEncoder } from './file-card-encoder.ts';

const [dataDir, cardFile, firstName] = process.argv.slice(2) as [string, string, string];
const db = openDatabase(join(dataDir, 'gatehouse.db'));
ensureSite(db, { timeZone: 'Europe/Amsterdam', ownerPassword: 'correct horse battery' });
const svc = new GatehouseService(db);
svc.secrets = new SecretBox(await fileMasterKey(dataDir).load());
const encoder = new FileCardEncoder(cardFile, 40);
new EncoderManager(svc, encoder);
const actor = systemActor('front desk');
const person =
  svc.run(actor, 'users.list', { search: firstName, top: 1 }).items[0] ?? svc.run(actor, 'users.create', { first_name: firstName, last_name: 'Kill' });
process.stdout.write('started\n');
try {
  const r = await svc.runAsync(actor, 'encoders.encode', { encoder_id: encoder.id, user_id: person.id });
  process.stdout.write(`${JSON.stringify({ tag_number: r.tag.tag_number, issue_counter: r.issue_counter, repaired: r.repaired })}\n`);
} catch (e) {
  // E.g. "already is Ada Kill's tag": an earlier attempt was killed after its last commit.
  process.stdout.write(`${JSON.stringify({ error: (e as Error).message })}\n`);
}
db.close();
