// Browser-mode helpers of exports: counting records while the bytes stream in, and handing the result
// to the browser as a download.

/** Counts records in a stream of CSV (a record ends at a newline outside quotes) or JSON lines. */
export function streamRowCounter(csv: boolean) {
  let quoted = false;
  let lines = 0;
  return {
    add(chunk: Uint8Array) {
      if (!csv || (!quoted && chunk.indexOf(0x22) === -1)) {
        for (let i = chunk.indexOf(0x0a); i !== -1; i = chunk.indexOf(0x0a, i + 1)) lines++;
        return;
      }
      for (let i = 0; i < chunk.length; i++) {
        const b = chunk[i];
        if (b === 0x22) quoted = !quoted;
        else if (b === 0x0a && !quoted) lines++;
      }
    },
    /** Records so far, without the CSV header. */
    get rows() {
      return csv ? Math.max(0, lines - 1) : lines;
    },
  };
}

/** Offers a blob as a download under name. */
export function saveBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
