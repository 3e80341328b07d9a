// tel:, callto: and ringbridge: links from the OS. Call before `ready`: it registers open-url in
// will-finish-launching (macOS, incl. cold start) and second-instance (Windows/Linux, running),
// picks up a cold-start link from argv, and queues everything until the app says it is ready.
import { resolve } from 'node:path';
import { app } from 'electron';
import { PROTOCOL_SCHEMES, classifyDeepLink, linkFromArgv, type DeepLink } from './policy/deep-link.js';
import type { ShellLogger } from './logger.js';

/** A burst of links before startup finishes is not a reason to dial a burst of numbers. */
const MAX_QUEUED_LINKS = 3;

export interface ProtocolHandling {
  /** Delivers queued links and every later one straight to the handler. */
  ready(): void;
}

export function registerProtocolHandling(
  onLink: (link: DeepLink) => void,
  onRelaunch: () => void,
  log: ShellLogger,
): ProtocolHandling {
  for (const scheme of PROTOCOL_SCHEMES) {
    // Unpackaged (dev), the OS must start electron with our app path, not bare electron.
    const ok = app.isPackaged
      ? app.setAsDefaultProtocolClient(scheme)
      : app.setAsDefaultProtocolClient(scheme, process.execPath, [resolve(process.argv[1] ?? '.')]);
    if (!ok) log.warn({ scheme }, 'could not register as the handler for this link type');
  }

  let isReady = false;
  const queue: DeepLink[] = [];
  const deliver = (link: DeepLink | null) => {
    if (!link) return;
    if (isReady) onLink(link);
    else if (queue.length < MAX_QUEUED_LINKS) queue.push(link);
  };

  app.on('will-finish-launching', () => {
    app.on('open-url', (event, url) => {
      event.preventDefault();
      const link = classifyDeepLink(url);
      if (!link) log.warn({}, 'ignored a link with a scheme we do not handle');
      deliver(link);
    });
  });
  app.on('second-instance', (_event, argv) => {
    const link = linkFromArgv(argv);
    if (link) deliver(link);
    else onRelaunch(); // started again by hand: bring the window up
  });
  if (process.platform !== 'darwin') deliver(linkFromArgv(process.argv));

  return {
    ready() {
      isReady = true;
      for (const link of queue.splice(0)) onLink(link);
    },
  };
}
