// What the OSDP link layer needs from whatever carries its bytes (USB bulk endpoints, TCP, an in-memory
// pipe in tests): an ordered byte stream without message boundaries. drivers/transport's ByteStream
// has this shape and more; OSDP adds framing, sequence numbers and retransmission on top.

export interface ByteLink {
  write(bytes: Uint8Array): Promise<void>;
  /** Chunks arrive in order; their boundaries mean nothing. Returns an unsubscribe function. */
  onData(cb: (chunk: Uint8Array) => void): () => void;
}
