// What the core needs of a desktop card encoder (an ACR122U-class reader on USB, or its simulator).
// Drivers (drivers/encoder) satisfy this structurally; a composition root (bin/encoders.ts, electron/)
// hands the attached encoders to the EncoderManager. The card's bytes (key diversification, the
// credential sector, access bits) are the driver's business: the core says which tag number and issue
// counter to write under which site key, and is told what came back.

/** MIFARE Classic can carry a credential; the others are recognised by UID only. */
export type EncoderCardType = 'mifare_classic_1k' | 'mifare_classic_4k' | 'mifare_ultralight' | 'mifare_desfire' | 'unknown';

/** A card lying on the encoder. */
export interface PresentedCard {
  /** Upper-case hex, as the card sends it (4, 7 or 10 bytes). */
  uid: string;
  card_type: EncoderCardType;
}

/** Why a card's credential sector is not a genuine credential of this site (docs/credentials.md). */
export type CredentialVerdict =
  | 'genuine'
  | 'credential_missing'
  | 'credential_unsupported_version'
  | 'credential_wrong_site'
  | 'credential_forged'
  | 'not_supported';

export interface CardReading extends PresentedCard {
  credential: CredentialVerdict;
  /** From a genuine credential only. */
  tag_number: string | null;
  issue_counter: number | null;
}

/** What to write: the site's key and id, and the credential content. */
export interface EncodeRequest {
  siteKey: Uint8Array;
  siteId: string;
  /** 10 digits. */
  tagNumber: string;
  issueCounter: number;
  /** The card must still be this one (upper-case hex): the caller read it and reserved a number for it. */
  uid: string;
  /** Progress for the UI; `blocksWritten` counts the credential's four writes (blocks 4–6, then the trailer). */
  onStep?: (step: 'authenticating' | 'writing' | 'verifying', blocksWritten: number) => void;
}

export type EncoderErrorCode =
  /** The card left the field (or another card took its place) before the work was done. */
  | 'card_removed'
  /** No card, or not the one expected, arrived in time. */
  | 'no_card'
  /** The card cannot carry a credential (Ultralight, DESFire, unknown). */
  | 'not_supported'
  /** Neither the transport key nor this site's key opens the credential sector: a card of another site or system. */
  | 'foreign_card'
  /** The read-back did not show what was written. */
  | 'verify_failed'
  /** The encoder was unplugged. */
  | 'detached'
  /** Anything else the reader or the card refused (bad CRC, timeouts): worth a retry. */
  | 'failed';

/**
 * A driver throws errors with a `code` of EncoderErrorCode (and a message fit for the operator); the
 * core reads the code structurally, since it never imports a driver class.
 */
export interface EncoderFailure extends Error {
  code: EncoderErrorCode;
}

export type EncoderChange = { type: 'card-placed'; card: PresentedCard } | { type: 'card-removed' } | { type: 'detached' };

/** One attached encoder. Calls on one encoder are serialised by the core (one at a time). */
export interface EncoderDevice {
  /** Stable while attached, e.g. "usb:1-4" or "sim:1". */
  readonly id: string;
  /** For people: "ACR122U (USB 072F:2200)". */
  readonly name: string;
  readonly firmware: string;
  readonly simulated: boolean;
  /** The card lying on it now, as last seen (null: none). */
  card(): PresentedCard | null;
  /** Card placed/removed and detach, as they happen. Returns an unsubscribe function. */
  onChange(listener: (change: EncoderChange) => void): () => void;
  /** Resolves with the card once one is on the encoder (at once if one is), rejects `no_card` on abort. */
  waitForCard(signal: AbortSignal): Promise<PresentedCard>;
  /** Reads the card and checks its credential sector under this site's key. */
  read(siteKey: Uint8Array, siteId: string): Promise<CardReading>;
  /**
   * Writes the credential (blank card: transport keys; earlier or interrupted credential of this site:
   * its key B), then reads it back with the card's key A and checks it. Resolves only when verified.
   */
  encode(request: EncodeRequest): Promise<CardReading>;
  /** Restores the credential sector to transport keys (needs this site's key B). */
  erase(siteKey: Uint8Array, uid: string): Promise<void>;
  /** Green and a short beep, or red and two beeps; failures here are ignored by the core. */
  feedback(outcome: 'success' | 'failure'): Promise<void>;
}

/** The encoders the composition root sees come and go. */
export interface EncoderSource {
  list(): readonly EncoderDevice[];
  onAttach(listener: (device: EncoderDevice) => void): () => void;
  /** Why there are none, when that is not obvious ("no USB here", "pcscd holds the reader"), or null. */
  problem(): string | null;
}

/** A card in the demo's tray, beside a simulated encoder (`serve --demo`). */
export interface TrayCard {
  id: string;
  /** "Blank card 3", "Card of Ada Lovelace (encoded)", "Hotel card (another system)". */
  label: string;
  uid: string;
  card_type: EncoderCardType;
  /** The simulated encoder it lies on, or null: in the tray. */
  on_encoder: string | null;
}

/** What the demo can do with its simulated encoders' cards, as a person at the desk would. */
export interface EncoderTray {
  cards(): TrayCard[];
  /** Puts a card on an encoder (the one there goes back to the tray). */
  place(cardId: string, encoderId: string): void;
  /** Takes the card off an encoder, back to the tray. */
  remove(encoderId: string): void;
}
