// Runs sync rounds for the SIGKILL test (sync-kill.test.ts) against a mock cloud the parent owns,
// on a database file, until a round finds nothing left to do; the parent kills it at random moments.
// argv: <db file> <cloud url> <site id> <client id> <client secret> <user> <password> <otp secret> <otp pin>
import { CloudSync } from '../../core/cloud/sync-engine.ts';
import { GatehouseService } from '../../core/service/service.ts';
import { openDatabase } from '../../core/store/db.ts';
import { cloudPort } from './fixture.ts';

const [file, url, siteId, clientId, secret, user, password, otpSecret, otpPin] = process.argv.slice(2) as [string, string, string, string, string, string, string, string, string];
const db = openDatabase(file);
const service = new GatehouseService(db);
const { port } = await cloudPort({ url, siteId, auth: { clientId, clientSecret: secret, username: user, password }, site: { otpSecret, otpPin } });
const sync = new CloudSync(service, port);
process.stdout.write('ready\n');
for (let round = 1; round <= 50; round++) {
  const r = await sync.sync();
  process.stdout.write(`${JSON.stringify({ round, complete: r.complete, error: r.error, pushed: r.pushed.done, applied: r.pulled.applied })}\n`);
  if (r.complete && r.error === null && r.pushed.done === 0 && r.pulled.applied === 0 && r.pulled.deleted === 0) {
    process.stdout.write('converged\n');
    db.close();
    process.exit(0);
  }
}
process.stdout.write('gave up\n');
process.exit(3);
