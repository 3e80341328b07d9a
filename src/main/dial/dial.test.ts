import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { CountryCode } from 'libphonenumber-js';
import { DialController, parseDialInput, type DialFeedback, type DialResult } from './index.js';
import { hostileDialCorpus } from '../../../test/support/hostile-dial-corpus.js';
import { DIALLING_MARKETS } from '../../../test/support/dialling-markets.js';

const silent = pino({ level: 'silent' });

const VALID: Array<[input: string, country: CountryCode, e164: string]> = [
  ['tel:+1-415-555-2671', 'US', '+14155552671'],
  ['TEL:+1-415-555-2671', 'US', '+14155552671'],
  ['tel:+1.415.555.2671', 'US', '+14155552671'],
  ['tel:+1(415)555-2671', 'US', '+14155552671'],
  ['tel:+1%20415%20555%202671', 'US', '+14155552671'],
  ['tel:%2B14155552671', 'US', '+14155552671'],
  ['tel:4155552671', 'US', '+14155552671'],
  ['tel://+14155552671', 'US', '+14155552671'],
  ['tel:+14155552671;ext=42', 'US', '+14155552671'],
  ['tel:+14155552671;isub=1411', 'US', '+14155552671'],
  ['tel:5552671;phone-context=+1415', 'US', '+14155552671'],
  ['tel:0298765432;phone-context=+61', 'US', '+61298765432'],
  ['tel:02-9876-5432;phone-context=example.com', 'AU', '+61298765432'],
  ['callto:+14155552671', 'US', '+14155552671'],
  ['callto://+14155552671', 'US', '+14155552671'],
  ['callto:+14155552671?call', 'US', '+14155552671'],
  ['callto://+44 20 7946 0958', 'US', '+442079460958'],
  ['+1 (415) 555-2671', 'US', '+14155552671'],
  ['(415) 555-2671', 'US', '+14155552671'],
  ['415.555.2671.', 'US', '+14155552671'],
  ['  +1 415 555 2671\n', 'US', '+14155552671'],
  ['"+1 415-555-2671"', 'US', '+14155552671'],
  ['<tel:+14155552671>', 'US', '+14155552671'],
  ['011 44 20 7946 0958', 'US', '+442079460958'],
  ['+44 (0)20 7946 0958', 'GB', '+442079460958'],
  ['020 7946 0958', 'GB', '+442079460958'],
  ['00 44 20 7946 0958', 'DE', '+442079460958'],
  ['(02) 9876 5432', 'AU', '+61298765432'],
  ['02 9876 5432)', 'AU', '+61298765432'],
  ['+61 2 9876 5432).', 'AU', '+61298765432'],
  ['0412 345 678', 'AU', '+61412345678'],
  ['0221 / 123456', 'DE', '+49221123456'],
  ['+49 221 123456', 'DE', '+49221123456'],
  ['01 42 68 53 00', 'FR', '+33142685300'],
  ['+33\u00a01\u00a042\u00a068\u00a053\u00a000', 'FR', '+33142685300'],
  ['+33\u202f1\u202f42\u202f68\u202f53\u202f00', 'FR', '+33142685300'],
];

describe('parseDialInput: international prefixes, market by market', () => {
  it.each(DIALLING_MARKETS.map((m) => [`tel:${m.dialled}`, m.country, m.e164] as const))('%s from %s dials %s', (link, country, e164) => {
    expect(parseDialInput(link, country)).toMatchObject({ ok: true, e164 });
  });

  it.each(DIALLING_MARKETS.map((m) => [`tel:${m.zeros}`, m.country, m.e164] as const))('%s (00 + country code) from %s dials %s', (link, country, e164) => {
    expect(parseDialInput(link, country)).toMatchObject({ ok: true, e164 });
  });

  it.each([
    ['tel:0011 49 30 12345678901', 'AU', '+493012345678901'],
    ['tel:010 86 138 0013 8000', 'JP', '+8613800138000'],
  ] as const)('the longest numbers still dial behind a long prefix: %s from %s dials %s', (link, country, e164) => {
    expect(parseDialInput(link, country)).toMatchObject({ ok: true, e164 });
  });
});

describe('parseDialInput: forms people paste', () => {
  it.each(VALID)('%s (%s) -> %s', (input, country, e164) => {
    const parsed = parseDialInput(input, country);
    expect(parsed).toMatchObject({ ok: true, e164 });
  });

  it('keeps the extension and shows a readable number', () => {
    expect(parseDialInput('tel:+61298765432;ext=123', 'AU')).toEqual({
      ok: true,
      e164: '+61298765432',
      display: '(02) 9876 5432 ext. 123',
      extension: '123',
    });
    expect(parseDialInput('tel:+442079460958', 'AU')).toMatchObject({ display: '+44 20 7946 0958' });
  });
});

describe('parseDialInput: refusals say why', () => {
  it.each([
    ['tel:javascript:alert(1)', 'embedded_url'],
    ['tel:+1%0a4155552671', 'control_characters'],
    ['javascript:alert(1)', 'unsupported_scheme'],
    ['tel:+1415\u202e5552671', 'invisible_characters'],
    ['tel:+1415５552671', 'lookalike_characters'],
    ['tel:+1415555267' + '1'.repeat(20), 'too_many_digits'],
    ['tel:', 'empty'],
    ['tel:123', 'invalid_number'],
    ['tel:%zz', 'bad_encoding'],
    ['tel:+14155552671;foo=bar', 'bad_parameter'],
    ['1-800-FLOWERS', 'not_a_number'],
  ])('%s -> %s', (input, code) => {
    const parsed = parseDialInput(input, 'US');
    expect(parsed).toMatchObject({ ok: false, code });
    if (!parsed.ok) expect(parsed.reason.length).toBeGreaterThan(10);
  });

  it('refuses non-string input without throwing', () => {
    expect(parseDialInput(undefined, 'US')).toMatchObject({ ok: false, code: 'empty' });
    expect(parseDialInput({ toString: () => 'tel:+14155552671' }, 'US')).toMatchObject({ ok: false });
  });
});

function harness(result: Partial<DialResult> = {}, confirmAnswer = true, confirmBeforeDial = false) {
  const dialled: string[] = [];
  const feedback: DialFeedback[] = [];
  const confirmations: string[] = [];
  const controller = new DialController({
    transport: {
      async dial(e164) {
        dialled.push(e164);
        return { t: 'dial_result', reqId: 'r1', ok: true, e164, pbxCallId: 'c1', error: null, ...result };
      },
    },
    confirm: {
      async confirmDial({ display }) {
        confirmations.push(display);
        return confirmAnswer;
      },
    },
    feedback: { dialFeedback: (f) => feedback.push(f) },
    policy: () => ({ defaultCountry: 'US', confirmBeforeDial }),
    logger: silent,
  });
  return { controller, dialled, feedback, confirmations };
}

describe('hostile tel:/callto: corpus', () => {
  const corpus = hostileDialCorpus();

  it('is large and varied', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(1000);
    expect(new Set(corpus.map((c) => c.input)).size).toBeGreaterThan(1000);
    expect(new Set(corpus.map((c) => c.mutation)).size).toBeGreaterThan(15);
  });

  it('dials none of it and gives every input a reason', async () => {
    const { controller, dialled, feedback } = harness();
    const escaped: string[] = [];
    for (const { input, mutation } of corpus) {
      const outcome = await controller.dial(input);
      if (outcome.kind !== 'refused' || outcome.reason.length < 10) escaped.push(`${mutation}: ${JSON.stringify(input)}`);
    }
    expect(escaped).toEqual([]);
    expect(dialled).toEqual([]);
    expect(feedback).toHaveLength(corpus.length);
  });
});

describe('DialController', () => {
  it('dials the normalised number through the bus and reports it placed', async () => {
    const { controller, dialled, feedback } = harness();
    await controller.dial('tel:(415) 555-2671');
    expect(dialled).toEqual(['+14155552671']);
    expect(feedback).toEqual([{ kind: 'placed', e164: '+14155552671', display: '(415) 555-2671' }]);
  });

  it("reports the bus's error when the PBX refuses", async () => {
    const { controller, feedback } = harness({ ok: false, e164: null, error: { code: 'dial_policy', message: 'Premium numbers are blocked' } });
    await controller.dial('+1 415 555 2671');
    expect(feedback).toEqual([{ kind: 'failed', display: '(415) 555-2671', code: 'dial_policy', message: 'Premium numbers are blocked' }]);
  });

  it('asks first when confirm-before-dial is on, and dials nothing when the agent declines', async () => {
    const declined = harness({}, false, true);
    await declined.controller.dial('tel:+14155552671');
    expect(declined.confirmations).toEqual(['(415) 555-2671']);
    expect(declined.dialled).toEqual([]);
    expect(declined.feedback).toEqual([{ kind: 'cancelled', display: '(415) 555-2671' }]);

    const accepted = harness({}, true, true);
    await accepted.controller.dial('tel:+14155552671');
    expect(accepted.dialled).toEqual(['+14155552671']);
  });

  it('reports a transport failure (bus unreachable) instead of throwing', async () => {
    const feedback: DialFeedback[] = [];
    const controller = new DialController({
      transport: { dial: async () => Promise.reject(new Error('Not connected to the Ringbridge bus')) },
      confirm: { confirmDial: async () => true },
      feedback: { dialFeedback: (f) => feedback.push(f) },
      policy: () => ({ defaultCountry: 'US', confirmBeforeDial: false }),
      logger: silent,
    });
    await expect(controller.dial('tel:+14155552671')).resolves.toMatchObject({ kind: 'failed', code: 'unavailable' });
    expect(feedback[0]).toMatchObject({ message: 'Not connected to the Ringbridge bus' });
  });

  it('refuses a second link while a dial is in flight', async () => {
    let finish!: () => void;
    const dialled: string[] = [];
    const controller = new DialController({
      transport: {
        dial: (e164) => {
          dialled.push(e164);
          return new Promise((resolve) => (finish = () => resolve({ t: 'dial_result', reqId: 'r', ok: true, e164, pbxCallId: null, error: null })));
        },
      },
      confirm: { confirmDial: async () => true },
      feedback: { dialFeedback: () => {} },
      policy: () => ({ defaultCountry: 'US', confirmBeforeDial: false }),
      logger: silent,
    });
    const first = controller.dial('tel:+14155552671');
    await expect(controller.dial('tel:+14155552672')).resolves.toMatchObject({ kind: 'refused', code: 'busy' });
    finish();
    await expect(first).resolves.toMatchObject({ kind: 'placed' });
    expect(dialled).toEqual(['+14155552671']);
  });
});
