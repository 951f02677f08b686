// `gatehouse serve --open`: hands the UI's address to the desktop's default browser. A machine without
// one (a server, a container) is normal, so failing to open is a note, never an error.
import { spawn } from 'node:child_process';

/** The platform's "open this URL" command. */
export function openCommand(url: string, platform: NodeJS.Platform = process.platform): [string, string[]] {
  if (platform === 'darwin') return ['open', [url]];
  // `start` is a cmd built-in; its first quoted argument is the window title.
  if (platform === 'win32') return ['cmd', ['/c', 'start', '""', url]];
  return ['xdg-open', [url]];
}

/** Opens url in the default browser; resolves with null when launched, or why it could not be. */
export function openBrowser(url: string): Promise<string | null> {
  const [cmd, args] = openCommand(url);
  return new Promise((resolve) => {
    let child;
    try {
      child = spawn(cmd, args, { detached: true, stdio: 'ignore' });
    } catch (e) {
      resolve(`${cmd}: ${(e as Error).message}`);
      return;
    }
    child.once('error', (e) => resolve(`${cmd}: ${e.message}`));
    child.once('spawn', () => {
      child.unref();
      resolve(null);
    });
  });
}
