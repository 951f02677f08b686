// The mock KS cloud in a process of its own, driven over Node's IPC channel: for the benchmark, so
// that the memory and time measured in the parent are Gatehouse's and not the mock's.
// Messages in: {type: 'entries', lock_ids, per_lock, from, span_ms} (entries spread evenly over the
// span), {type: 'close'}. Out: {type: 'ready', url, site_id, auth, otp_secret, otp_pin}, {type: 'done'}.
import { startKsCloud } from './server.ts';
import { adminAddEntries } from './store.ts';

const cloud = await startKsCloud({ seed: 1 });
const send = (m: unknown) => process.send!(m);
process.on('message', (m: { type: string; lock_ids?: string[]; per_lock?: number; from?: number; span_ms?: number }) => {
  if (m.type === 'entries') {
    for (const lock of m.lock_ids!) adminAddEntries(cloud.site, m.per_lock!, new Date(m.from!), lock);
    const all = cloud.site.entries;
    all.forEach((e, i) => (e.utc_date_time = new Date(m.from! + Math.floor((i / all.length) * m.span_ms!)).toISOString()));
    send({ type: 'done', requests: cloud.log.length });
  } else if (m.type === 'requests') send({ type: 'done', requests: cloud.log.length });
  else if (m.type === 'close') void cloud.close().then(() => process.exit(0));
});
send({ type: 'ready', url: cloud.url, site_id: cloud.siteId, auth: cloud.auth, otp_secret: cloud.site.otpSecret, otp_pin: cloud.site.otpPin });
