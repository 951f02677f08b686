// Writes a stream of text chunks into a file without holding it in memory, for exports from the desktop
// app (the browser saves a download instead). The data goes to "<file>.part" and is renamed onto the
// chosen name only once complete and flushed, so a crash or a cancel never leaves a file that looks
// finished. Yields to the event loop between chunks: the core process keeps answering calls (and the
// cancel) during a long export.
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';

export interface WriteOptions {
  /** Checked between chunks; true stops the export and removes the partial file. */
  cancelled: () => boolean;
  /** Bytes written so far, after each chunk. */
  onBytes?: (bytes: number) => void;
}

/** Resolves with the bytes written, or null when cancelled; a failure removes the partial file and rejects. */
export async function writeChunksToFile(chunks: Iterator<string>, file: string, o: WriteOptions): Promise<number | null> {
  const part = `${file}.part`;
  const fd = openSync(part, 'w', 0o600);
  let closed = false;
  const close = () => {
    if (!closed) closeSync(fd);
    closed = true;
  };
  try {
    let bytes = 0;
    for (;;) {
      if (o.cancelled()) {
        chunks.return?.();
        close();
        rmSync(part, { force: true });
        return null;
      }
      const next = chunks.next();
      if (next.done) break;
      const buf = Buffer.from(next.value, 'utf8');
      for (let off = 0; off < buf.length; ) off += writeSync(fd, buf, off);
      bytes += buf.length;
      o.onBytes?.(bytes);
      await new Promise((r) => setImmediate(r));
    }
    fsyncSync(fd);
    close();
    renameSync(part, file);
    return bytes;
  } catch (e) {
    chunks.return?.();
    close();
    rmSync(part, { force: true });
    throw e;
  }
}
