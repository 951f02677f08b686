// Secure-channel primitives against published answers, and sessions against an independent
// re-derivation of the MAC chain.
//
// Known answers:
//  - SIA OSDP v2.2 Annex E (SCBK-D, RND.A = B0..B7, RND.B = A0..A7), as quoted by libosdp
//    tests/unit-tests/test-sc-sia-vectors.c: session keys, both cryptograms, RMAC_I.
//  - libosdp tests/unit-tests/test-sc.c: MAC and data encryption built on NIST SP 800-38A F.2.1
//    (AES-128-CBC, key 2b7e1516…, IV 00…0f).
import { createCipheriv } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Command, Reply, Scs } from './codes.ts';
import { crc16 } from './crc.ts';
import { decodePacket, type Packet } from './packet.ts';
import {
  clientCryptogram,
  computeMac,
  decodeKeySet,
  decryptData,
  deriveSessionKeys,
  encodeKeySet,
  encryptData,
  initialRmac,
  SCBK_D,
  SecureSession,
  serverCryptogram,
  type SessionKeys,
} from './secure-channel.ts';

const hex = (s: string) => Uint8Array.from(s.replace(/\s+/g, '').match(/../g)!.map((b) => parseInt(b, 16)));
const not = (b: Uint8Array) => b.map((x) => ~x & 0xff);

function decoded(bytes: Uint8Array): Packet {
  const r = decodePacket(bytes);
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

describe('Annex E handshake vectors', () => {
  const cpRandom = hex('b0b1b2b3b4b5b6b7');
  const pdRandom = hex('a0a1a2a3a4a5a6a7');
  const keys = deriveSessionKeys(SCBK_D, cpRandom);

  it('SCBK-D is 30 31 … 3F', () => {
    expect(SCBK_D).toEqual(hex('303132333435363738393a3b3c3d3e3f'));
  });

  it('derives S-ENC, S-MAC1 and S-MAC2', () => {
    expect(keys.enc).toEqual(hex('bf8dc2a8329acb8c67c6d0cd9a451682'));
    expect(keys.mac1).toEqual(hex('5e86c676603bdee2d8beafe178637332'));
    expect(keys.mac2).toEqual(hex('6fda86e857777e81132035758239172e'));
  });

  it('computes the client (PD) and server (CP) cryptograms', () => {
    expect(clientCryptogram(keys, cpRandom, pdRandom)).toEqual(hex('fde5d2f428ec163124 71ea3c02bd7796'));
    expect(serverCryptogram(keys, cpRandom, pdRandom)).toEqual(hex('26d3356e07762d262801fc8e6665a891'));
  });

  it('computes RMAC_I from the server cryptogram', () => {
    expect(initialRmac(keys, serverCryptogram(keys, cpRandom, pdRandom))).toEqual(hex('b2a30057eb98ba2229ec1f875662b524'));
  });

  it('gives a different client cryptogram under any other key', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (key) => {
        fc.pre(!key.every((b, i) => b === SCBK_D[i]));
        expect(clientCryptogram(deriveSessionKeys(key, cpRandom), cpRandom, pdRandom)).not.toEqual(clientCryptogram(keys, cpRandom, pdRandom));
      }),
      { numRuns: 200 },
    );
  });

  it('refuses keys and randoms of the wrong size', () => {
    expect(() => deriveSessionKeys(new Uint8Array(15), cpRandom)).toThrow(/16 bytes/);
    expect(() => deriveSessionKeys(SCBK_D, new Uint8Array(7))).toThrow(/8 bytes/);
  });
});

describe('MAC and data encryption (libosdp test-sc.c, NIST SP 800-38A)', () => {
  const key = hex('2b7e151628aed2a6abf7158809cf4f3c');
  const iv = hex('000102030405060708090a0b0c0d0e0f');
  const macKeys = { mac1: key, mac2: key };
  const plain4 = hex(
    '6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51 30c81c46a35ce411e5fbc1191a0a52ef f69f2445df4f9b17ad2b417be66c3710',
  );

  it('MACs one block', () => {
    expect(computeMac(macKeys, iv, plain4.subarray(0, 16))).toEqual(hex('7649abac8119b246cee98e9b12e9197d'));
  });

  it('MACs four blocks: S-MAC1 chains the first three, S-MAC2 the last', () => {
    expect(computeMac(macKeys, iv, plain4)).toEqual(hex('3ff1caa1681fac09120eca307586e1a7'));
  });

  it('pads a partial block with 0x80 00… before MACing', () => {
    expect(computeMac(macKeys, iv, hex('000102030405060708090a0b0c0d0e'))).toEqual(hex('c5311f3d23d086ea86f5ee7f85247b40'));
  });

  it('encrypts with the NOT of the chaining MAC as IV, always appending 0x80', () => {
    expect(encryptData(key, not(iv), hex('000102030405060708090a0b0c0d0e'))).toEqual(hex('c5311f3d23d086ea86f5ee7f85247b40'));
    expect(encryptData(key, not(iv), hex('000102030405060708090a0b0c0d0e0f'))).toEqual(
      hex('7df76b0c1ab899b33e42f047b91b546f e2fe5bd6c1dfcdd19124f03e1a134d3b'),
    );
    expect(encryptData(key, not(iv), new Uint8Array(0))).toEqual(hex('4c08220c79d9191022dc6674874ceaf8'));
  });

  it('decrypts and strips the padding', () => {
    expect(decryptData(key, not(iv), hex('c5311f3d23d086ea86f5ee7f85247b40'))).toEqual({ ok: true, value: hex('000102030405060708090a0b0c0d0e') });
    expect(decryptData(key, not(iv), hex('7df76b0c1ab899b33e42f047b91b546f e2fe5bd6c1dfcdd19124f03e1a134d3b'))).toEqual({
      ok: true,
      value: hex('000102030405060708090a0b0c0d0e0f'),
    });
  });

  it('rejects ciphertext that is not whole blocks, or decrypts without an end marker', () => {
    expect(decryptData(key, not(iv), new Uint8Array(15))).toMatchObject({ ok: false, error: { code: 'bad_block_length' } });
    const noMarker = createCipheriv('aes-128-cbc', key, iv).setAutoPadding(false).update(new Uint8Array(16));
    expect(decryptData(key, not(iv), noMarker)).toMatchObject({ ok: false, error: { code: 'bad_padding' } });
  });

  it('round-trips any data', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), fc.uint8Array({ minLength: 16, maxLength: 16 }), (data, chain) => {
        const sealed = encryptData(key, chain, data);
        expect(sealed.length % 16).toBe(0);
        expect(sealed.length).toBeGreaterThan(data.length);
        expect(decryptData(key, chain, sealed)).toEqual({ ok: true, value: data });
      }),
    );
  });
});

// The MAC chain re-derived here from bare AES-ECB, independently of secure-channel.ts.
function ecb(key: Uint8Array, block: Uint8Array): Uint8Array {
  return new Uint8Array(createCipheriv('aes-128-ecb', key, null).setAutoPadding(false).update(block));
}

function referenceMac(keys: SessionKeys, iv: Uint8Array, message: Uint8Array): Uint8Array {
  const padded = [...message];
  if (padded.length % 16 !== 0) {
    padded.push(0x80);
    while (padded.length % 16 !== 0) padded.push(0);
  }
  let chain = iv;
  for (let at = 0; at < padded.length; at += 16) {
    const block = Uint8Array.from(padded.slice(at, at + 16), (b, i) => b ^ chain[i]!);
    chain = ecb(at + 16 === padded.length ? keys.mac2 : keys.mac1, block);
  }
  return chain;
}

function sessions(): { cp: SecureSession; pd: SecureSession; keys: SessionKeys; rmacI: Uint8Array } {
  const cpRandom = hex('0102030405060708');
  const pdRandom = hex('1112131415161718');
  const keys = deriveSessionKeys(hex('000102030405060708090a0b0c0d0e0f'), cpRandom);
  const rmacI = initialRmac(keys, serverCryptogram(keys, cpRandom, pdRandom));
  return { cp: new SecureSession(keys, 'cp', rmacI), pd: new SecureSession(keys, 'pd', rmacI), keys, rmacI };
}

const command = (sqn: 1 | 2 | 3, code: number, data: Uint8Array) => ({ address: 4, reply: false, sqn, code, data });
const reply = (sqn: 1 | 2 | 3, code: number, data: Uint8Array) => ({ address: 4, reply: true, sqn, code, data });

/** Changes one byte of a packet and fixes its CRC, so only the MAC can notice. */
function tampered(bytes: Uint8Array, at: number): Uint8Array {
  const out = bytes.slice();
  out[at] = out[at]! ^ 0x01;
  const crc = crc16(out, 1, out.length - 2);
  out[out.length - 2] = crc & 0xff;
  out[out.length - 1] = crc >> 8;
  return out;
}

describe('SecureSession', () => {
  it('MACs the first command from RMAC_I and each reply from the command, as an independent derivation does', () => {
    const { cp, pd, keys, rmacI } = sessions();
    const cmd = decoded(cp.seal(command(1, Command.OUT, hex('00010a00')), false));
    expect(cmd.securityBlock).toMatchObject({ type: Scs.SCS_15 });
    const cMac = referenceMac(keys, rmacI, cmd.raw.subarray(0, cmd.raw.length - 6));
    expect(cmd.mac).toEqual(cMac.subarray(0, 4));
    expect(pd.open(cmd)).toMatchObject({ ok: true, value: { code: Command.OUT, data: hex('00010a00'), encrypted: false } });

    const rep = decoded(pd.seal(reply(1, Reply.ACK, new Uint8Array(0)), true));
    expect(rep.securityBlock).toMatchObject({ type: Scs.SCS_16 });
    const rMac = referenceMac(keys, cMac, rep.raw.subarray(0, rep.raw.length - 6));
    expect(rep.mac).toEqual(rMac.subarray(0, 4));
    expect(cp.open(rep)).toMatchObject({ ok: true, value: { code: Reply.ACK } });

    const next = decoded(cp.seal(command(2, Command.POLL, new Uint8Array(0)), true));
    expect(next.mac).toEqual(referenceMac(keys, rMac, next.raw.subarray(0, next.raw.length - 6)).subarray(0, 4));
  });

  it('encrypts data both ways (SCS_17/18) and round-trips it', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 80 }), fc.uint8Array({ maxLength: 80 })), { minLength: 1, maxLength: 6 }), (exchanges) => {
        const { cp, pd } = sessions();
        exchanges.forEach(([out, back], i) => {
          const sqn = ((i % 3) + 1) as 1;
          const cmd = decoded(cp.seal(command(sqn, Command.MFG, out), true));
          expect(cmd.securityBlock?.type).toBe(Scs.SCS_17);
          expect([...cmd.data]).not.toEqual([...out]);
          expect(pd.open(cmd)).toEqual({ ok: true, value: { code: Command.MFG, data: out, encrypted: true } });
          const rep = decoded(pd.seal(reply(sqn, Reply.MFGREP, back), true));
          expect(rep.securityBlock?.type).toBe(back.length > 0 ? Scs.SCS_18 : Scs.SCS_16);
          expect(cp.open(rep)).toEqual({ ok: true, value: { code: Reply.MFGREP, data: back, encrypted: back.length > 0 } });
        });
      }),
      { numRuns: 50 },
    );
  });

  it('detects a change to any byte the MAC covers, and a changed MAC', () => {
    const { cp, pd } = sessions();
    const bytes = cp.seal(command(1, Command.MFG, hex('0a0b0c0d0e')), true);
    // Byte 0 is the mark, the last six are MAC and CRC: every byte from SOM to the data is covered.
    let checked = 0;
    for (let at = 1; at < bytes.length - 2; at++) {
      const changed = decodePacket(tampered(bytes, at));
      if (!changed.ok) continue;
      checked++;
      expect(pd.open(changed.value), `byte ${at}`).toMatchObject({ ok: false });
    }
    // Everything but SOM and LEN still decodes: those changes are for the MAC alone to catch.
    expect(checked).toBe(bytes.length - 3 - 3);
    expect(pd.open(decoded(bytes))).toMatchObject({ ok: true });
  });

  it('rejects a replayed command: the chain has moved on', () => {
    const { cp, pd } = sessions();
    const first = decoded(cp.seal(command(1, Command.POLL, new Uint8Array(0)), true));
    expect(pd.open(first).ok).toBe(true);
    cp.open(decoded(pd.seal(reply(1, Reply.ACK, new Uint8Array(0)), true)));
    expect(pd.open(first)).toMatchObject({ ok: false, error: { code: 'bad_mac' } });
  });

  it('rejects packets from another session, and plaintext', () => {
    const { cp } = sessions();
    const keys = deriveSessionKeys(SCBK_D, hex('0102030405060708'));
    const stranger = new SecureSession(keys, 'pd', new Uint8Array(16));
    const cmd = decoded(cp.seal(command(1, Command.POLL, new Uint8Array(0)), true));
    expect(stranger.open(cmd)).toMatchObject({ ok: false, error: { code: 'bad_mac' } });
    const { pd } = sessions();
    expect(pd.open(decoded(new Uint8Array([0x53, 4, 8, 0, 5, 0x60, ...crcBytes([0x53, 4, 8, 0, 5, 0x60])])))).toMatchObject({
      ok: false,
      error: { code: 'not_secured' },
    });
  });

  it("rejects a command's block type in a reply", () => {
    const { cp } = sessions();
    const { cp: otherCp } = sessions();
    const cmd = decoded(otherCp.seal(command(1, Command.POLL, new Uint8Array(0)), true));
    expect(cp.open(cmd)).toMatchObject({ ok: false, error: { code: 'wrong_direction' } });
  });

  it('leaves the chain untouched when it rejects a packet', () => {
    const { cp, pd } = sessions();
    const bytes = cp.seal(command(1, Command.POLL, new Uint8Array(0)), true);
    const forged = decodePacket(tampered(bytes, 6));
    expect(forged.ok && pd.open(forged.value).ok).toBe(false);
    expect(pd.open(decoded(bytes)).ok).toBe(true);
  });
});

function crcBytes(body: number[]): number[] {
  const crc = crc16(Uint8Array.from(body));
  return [crc & 0xff, crc >> 8];
}

describe('KEYSET payload', () => {
  it('is key type 1 (SCBK), length 16, the key, and nothing else decodes', () => {
    const key = hex('00112233445566778899aabbccddeeff');
    expect(encodeKeySet(key)).toEqual(hex('0110 00112233445566778899aabbccddeeff'));
    expect(decodeKeySet(encodeKeySet(key))).toEqual(key);
    expect(decodeKeySet(hex('0210 00112233445566778899aabbccddeeff'))).toBeNull();
    expect(decodeKeySet(hex('0110 00112233445566778899aabbccdd'))).toBeNull();
    expect(() => encodeKeySet(new Uint8Array(8))).toThrow(/16 bytes/);
  });
});
