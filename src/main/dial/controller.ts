// Click-to-dial: parse, optionally confirm, send through the bus, report. One dial at a time, so
// a page firing tel: links in a loop cannot queue up calls.
import type { CountryCode } from 'libphonenumber-js';
import type { Logger } from 'pino';
import type { DialResultFrame } from '../../shared/agent-protocol.js';
import type { z } from 'zod';
import { parseDialInput, type DialRefusal } from './parse.js';

export type DialResult = z.infer<typeof DialResultFrame>;

/** Asks the agent before dialling (settings.confirmBeforeDial); the glue shows a dialog. */
export interface ConfirmPort {
  confirmDial(request: { e164: string; display: string }): Promise<boolean>;
}

export type DialFeedback =
  | { kind: 'refused'; code: DialRefusal | 'busy'; reason: string }
  | { kind: 'cancelled'; display: string }
  | { kind: 'placed'; e164: string; display: string }
  | { kind: 'failed'; display: string; code: string; message: string };

/** Tells the agent what happened (the glue shows a notification). */
export interface FeedbackPort {
  dialFeedback(feedback: DialFeedback): void;
}

export interface DialTransport {
  dial(e164: string): Promise<DialResult>;
}

export interface DialControllerOptions {
  transport: DialTransport;
  confirm: ConfirmPort;
  feedback: FeedbackPort;
  /** Read on every dial so settings changes apply at once. */
  policy: () => { defaultCountry: CountryCode; confirmBeforeDial: boolean };
  logger: Logger;
}

export class DialController {
  private busy = false;

  constructor(private readonly options: DialControllerOptions) {}

  /** Dials a raw `tel:`/`callto:` link or typed number; resolves with the feedback it reported. */
  async dial(raw: unknown): Promise<DialFeedback> {
    const { transport, confirm, policy, logger } = this.options;
    const { defaultCountry, confirmBeforeDial } = policy();
    const parsed = parseDialInput(raw, defaultCountry);
    if (!parsed.ok) {
      // The raw input is untrusted (and may be personal data): log the reason only.
      logger.info({ code: parsed.code }, 'dial refused');
      return this.report({ kind: 'refused', code: parsed.code, reason: parsed.reason });
    }
    if (this.busy) {
      return this.report({ kind: 'refused', code: 'busy', reason: 'Another call is being placed; try again in a moment.' });
    }
    this.busy = true;
    try {
      if (confirmBeforeDial && !(await confirm.confirmDial({ e164: parsed.e164, display: parsed.display }))) {
        return this.report({ kind: 'cancelled', display: parsed.display });
      }
      const result = await transport.dial(parsed.e164);
      if (result.ok) return this.report({ kind: 'placed', e164: result.e164 ?? parsed.e164, display: parsed.display });
      return this.report({
        kind: 'failed',
        display: parsed.display,
        code: result.error?.code ?? 'unknown',
        message: result.error?.message ?? 'The phone system did not place the call.',
      });
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'dial failed');
      return this.report({ kind: 'failed', display: parsed.display, code: 'unavailable', message: (err as Error).message });
    } finally {
      this.busy = false;
    }
  }

  private report(feedback: DialFeedback): DialFeedback {
    this.options.feedback.dialFeedback(feedback);
    return feedback;
  }
}
