import * as net from 'node:net';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { TransportClosedError } from './byte-stream.ts';
import { collect, concat, firstDifference, pattern, tick } from './test-helpers.ts';
import { connectTcpHub, DEFAULT_HUB_TCP_PORT, TcpHubConnectError, type TcpHubTransport } from './tcp-hub-transport.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A local hub stand-in: a real net.Server on a free port of 127.0.0.1. */
async function server(onSocket: (s: net.Socket) => void): Promise<{ port: number; sockets: net.Socket[] }> {
  const sockets: net.Socket[] = [];
  const srv = net.createServer((s) => {
    sockets.push(s);
    s.on('error', () => {});
    onSocket(s);
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => srv.close(() => resolve()));
  });
  return { port: (srv.address() as net.AddressInfo).port, sockets };
}

async function connect(port: number, extra: Partial<Parameters<typeof connectTcpHub>[0]> = {}): Promise<TcpHubTransport> {
  const t = await connectTcpHub({ host: '127.0.0.1', port, ...extra });
  cleanups.push(() => t.close());
  return t;
}

describe('TCP hub transport', () => {
  it('defaults to port 7374', () => {
    expect(DEFAULT_HUB_TCP_PORT).toBe(7374);
  });

  it('round-trips byte streams of many sizes intact and in order (property)', async () => {
    const { port } = await server((s) => s.pipe(s));
    const t = await connect(port);
    const got = collect(t);
    let received = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 100_000 }), { minLength: 1, maxLength: 6 }), fc.nat(255), async (sizes, seed) => {
        const writes = sizes.map((n, i) => pattern(n, seed + i));
        const expected = concat(writes);
        await Promise.all(writes.map((w) => t.write(w)));
        const all = await got.waitForBytes(received + expected.length);
        // Compared with firstDifference, not toEqual: a deep equal over megabytes takes seconds.
        expect(firstDifference(all.subarray(received), expected)).toBe(-1);
        received = all.length;
      }),
      { numRuns: 25 },
    );
    expect(t.describe()).toBe(`tcp 127.0.0.1:${port}`);
  });

  it('turns on keepalive and no-delay on the socket', async () => {
    const { port } = await server(() => {});
    const calls: string[] = [];
    await connect(port, {
      keepAliveMs: 1234,
      createConnection: (o) => {
        const s = net.createConnection(o);
        const setKeepAlive = s.setKeepAlive.bind(s);
        const setNoDelay = s.setNoDelay.bind(s);
        s.setKeepAlive = (enable, delay) => (calls.push(`keepalive ${enable} ${delay}`), setKeepAlive(enable, delay));
        s.setNoDelay = (noDelay) => (calls.push(`nodelay ${noDelay}`), setNoDelay(noDelay));
        return s;
      },
    });
    expect(calls).toEqual(['nodelay true', 'keepalive true 1234']);
  });

  it('the hub closing the connection: onClose once as remote, later writes reject clearly', async () => {
    const { port, sockets } = await server((s) => s.write(Uint8Array.from([1, 2, 3])));
    const t = await connect(port);
    const got = collect(t);
    await got.waitForBytes(3);
    sockets[0]!.end();
    const reason = await got.waitForClose();
    expect(reason).toEqual({ kind: 'remote', message: `the hub at 127.0.0.1:${port} closed the connection` });
    const err = await t.write(Uint8Array.from([9])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransportClosedError);
    expect((err as Error).message).toBe(`tcp 127.0.0.1:${port}: the hub at 127.0.0.1:${port} closed the connection`);
    await t.close();
    await tick(10);
    expect(got.closes).toHaveLength(1);
  });

  it('bytes sent just before the hub closes arrive before onClose', async () => {
    const { port } = await server((s) => s.end(pattern(70_000)));
    const t = await connect(port);
    const got = collect(t);
    await got.waitForClose();
    expect(got.bytes()).toEqual(pattern(70_000));
  });

  it('a reset by the hub closes the stream without an unhandled error', async () => {
    const { port, sockets } = await server(() => {});
    const t = await connect(port);
    const got = collect(t);
    await tick(10);
    sockets[0]!.resetAndDestroy();
    const reason = await got.waitForClose();
    expect(reason.kind).toBe('remote');
    expect(reason.message).toMatch(/reset the connection \(ECONNRESET\)/);
    await expect(t.write(Uint8Array.from([1]))).rejects.toBeInstanceOf(TransportClosedError);
  });

  it('close() is local, idempotent, and the hub sees the connection end', async () => {
    let serverSawEnd = false;
    const { port } = await server((s) => s.on('close', () => (serverSawEnd = true)));
    const t = await connect(port);
    const got = collect(t);
    await Promise.all([t.close(), t.close()]);
    expect(got.closes).toEqual([{ kind: 'local', message: 'closed by Gatehouse' }]);
    await tick(20);
    expect(serverSawEnd).toBe(true);
    await expect(t.write(Uint8Array.from([1]))).rejects.toThrow(/closed by Gatehouse/);
  });

  it('connect timeout: a clear error naming the address and the time, and the socket is destroyed', async () => {
    let socket: net.Socket | undefined;
    const started = Date.now();
    const err = await connectTcpHub({
      host: '192.0.2.44',
      connectTimeoutMs: 80,
      // A socket that never connects, as to a hub that is switched off (SYNs unanswered).
      createConnection: () => (socket = new net.Socket()),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TcpHubConnectError);
    expect((err as TcpHubConnectError).code).toBe('timeout');
    expect((err as Error).message).toBe(
      'The IQ hub at 192.0.2.44:7374 did not answer within 80 ms (connect timed out). Check that it is powered, on the network, and that the address is right.',
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(75);
    expect(socket!.destroyed).toBe(true);
  });

  it('connection refused: a clear error', async () => {
    const { port } = await server(() => {});
    await new Promise<void>((resolve) => cleanups.pop()!().then(resolve)); // close it: the port is now free
    const err = (await connectTcpHub({ host: '127.0.0.1', port }).catch((e: unknown) => e)) as TcpHubConnectError;
    expect(err.code).toBe('refused');
    expect(err.message).toMatch(new RegExp(`^The IQ hub at 127.0.0.1:${port} refused the connection`));
  });
});
