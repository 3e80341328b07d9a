import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { callEvent } from '../../../test/support/fake-bus.js';
import { ContactIndex, ContactResolver, MemoryContactSource } from '../contacts/index.js';
import type { CrmContact } from '../crm/port.js';
import { SettingsSchema, type Settings } from '../settings/index.js';
import { ScreenPop, ago, type PopNotification } from './index.js';

const silent = pino({ level: 'silent' });
const NOW = Date.parse('2025-06-10T12:00:00Z');
const DAY = 86_400_000;

function crmContact(id: string, extra: Partial<CrmContact> = {}): CrmContact {
  return { id, kind: 'contact', name: `Contact ${id}`, company: null, phones: ['+61298765432'], ownerId: null, lastActivityAt: null, url: '', updatedAt: null, ...extra };
}

function setup(opts: { contacts?: CrmContact[]; remote?: CrmContact[]; settings?: Partial<Settings>; lastCall?: number | null; extension?: string; queueNames?: Record<string, string> } = {}) {
  const calls: Array<['show', PopNotification] | ['withdraw', string]> = [];
  const index = new ContactIndex({ defaultCountry: () => 'AU', preferredOwner: 'me' });
  for (const c of opts.contacts ?? []) index.upsert(c);
  const source = new MemoryContactSource(opts.remote ?? []);
  const settings = SettingsSchema.parse({ defaultCountry: 'AU', ...opts.settings });
  const resolved: string[] = [];
  const pop = new ScreenPop({
    notifier: { show: (p) => calls.push(['show', p]), withdraw: (id) => calls.push(['withdraw', id]) },
    crmUrls: {
      contactUrl: (c) => `https://crm.example/${c.kind}/${c.id}`,
      newContactUrl: (e164) => `https://crm.example/new?phone=${encodeURIComponent(e164 ?? '')}`,
    },
    resolver: new ContactResolver(index, source, silent),
    extension: () => opts.extension ?? '201',
    settings: () => settings,
    lastCallWith: () => opts.lastCall ?? null,
    onContactResolved: (key, c) => resolved.push(`${key}=${c.name}`),
    queueNameOf: (queue) => opts.queueNames?.[queue] ?? null,
    logger: silent,
    now: () => NOW,
  });
  return { pop, calls, source, resolved };
}

const ring = (pbxCallId = 'c1', extra = {}) => callEvent({ type: 'ringing', pbxCallId, ...extra });
const KEY = 'tenant-1:pbx-1:c1:201';

describe('ScreenPop', () => {
  it('names a known caller with company and last activity, and opens the CRM record', () => {
    const { pop, calls, source } = setup({
      contacts: [crmContact('jane', { name: 'Jane Citizen', company: 'Acme Pty Ltd', lastActivityAt: new Date(NOW - 3 * DAY).toISOString() })],
    });
    pop.handle(ring(), false);
    expect(calls).toEqual([
      ['show', { popId: KEY, title: 'Jane Citizen', body: '(02) 9876 5432\nAcme Pty Ltd — last activity 3 days ago', e164: '+61298765432', clickUrl: 'https://crm.example/contact/jane', otherMatches: [], silent: false, actions: ['answer', 'hangup'] }],
    ]);
    expect(source.calls).toEqual([]);
  });

  it('prefers the last call from history and respects showCompany and sound settings', () => {
    const { pop, calls } = setup({
      contacts: [crmContact('jane', { name: 'Jane Citizen', company: 'Acme Pty Ltd' })],
      lastCall: NOW - 3 * DAY,
      settings: { notification: { showCompany: false, sound: false } },
    });
    pop.handle(ring(), false);
    expect(calls[0]?.[1]).toMatchObject({ body: '(02) 9876 5432\nlast call 3 days ago', silent: true });
  });

  it('shows the formatted number and "New caller" for an unknown number, opening the new-contact form', () => {
    const { pop, calls } = setup();
    pop.handle(ring(), false);
    expect(calls[0]).toEqual(['show', expect.objectContaining({ title: '(02) 9876 5432', body: 'New caller', clickUrl: 'https://crm.example/new?phone=%2B61298765432' })]);
  });

  it('lists the other contacts on a shared number, the agent’s own first', () => {
    const { pop, calls } = setup({ contacts: [crmContact('a', { name: 'Other', lastActivityAt: new Date(NOW).toISOString() }), crmContact('b', { name: 'Mine', ownerId: 'me' })] });
    pop.handle(ring(), false);
    expect(calls[0]?.[1]).toMatchObject({
      title: 'Mine',
      body: '(02) 9876 5432\n1 more match',
      otherMatches: [{ name: 'Other', company: null, url: 'https://crm.example/contact/a' }],
    });
  });

  it('updates the pop when the CRM names an unknown caller after the pop went up', async () => {
    const { pop, calls, resolved } = setup({ remote: [crmContact('r1', { name: 'Remote Rita', company: 'Rita Co' })] });
    pop.handle(ring(), false);
    await new Promise((r) => setTimeout(r, 0));
    expect(calls.map(([kind, arg]) => (kind === 'show' ? `show:${arg.title}` : `withdraw:${arg}`))).toEqual(['show:(02) 9876 5432', `withdraw:${KEY}`, 'show:Remote Rita']);
    expect(calls[2]?.[1]).toMatchObject({ popId: KEY, clickUrl: 'https://crm.example/contact/r1' });
    expect(resolved).toEqual([`${KEY}=Remote Rita`]);
  });

  it('does not re-raise a pop whose call ended before the CRM answered', async () => {
    const { pop, calls } = setup({ remote: [crmContact('r1')] });
    pop.handle(ring(), false);
    pop.handle(callEvent({ type: 'ended', pbxCallId: 'c1' }), false);
    await new Promise((r) => setTimeout(r, 0));
    expect(calls.map(([k]) => k)).toEqual(['show', 'withdraw']);
  });

  it('pops once per call and withdraws on answered, ended or missed; a late ring does not pop again', () => {
    for (const closing of ['answered', 'ended', 'missed'] as const) {
      const { pop, calls } = setup();
      pop.handle(ring(), false);
      pop.handle(ring(), false);
      pop.handle(callEvent({ type: closing, pbxCallId: 'c1' }), false);
      pop.handle(ring(), false);
      expect(calls.map(([k, a]) => `${k}:${typeof a === 'string' ? a : a.popId}`)).toEqual([`show:${KEY}`, `withdraw:${KEY}`]);
    }
  });

  it('never pops replayed rings, outbound or internal calls, rings for other extensions, or under do-not-disturb', () => {
    const { pop, calls } = setup();
    pop.handle(ring('r1'), true);
    pop.handle(ring('o1', { direction: 'outbound' }), false);
    pop.handle(ring('i1', { direction: 'internal' }), false);
    pop.handle(ring('x1', { agents: ['202'] }), false);
    expect(calls).toEqual([]);
    const dnd = setup({ settings: { doNotDisturb: true } });
    dnd.pop.handle(ring(), false);
    expect(dnd.calls).toEqual([]);
  });

  it('pops a queue call on each agent it rings', () => {
    const queueRing = ring('q1', { queue: '800', agents: ['201', '202'] });
    const first = setup({ extension: '201' });
    const second = setup({ extension: '202' });
    first.pop.handle(queueRing, false);
    second.pop.handle(queueRing, false);
    expect(first.calls[0]?.[1]).toMatchObject({ popId: 'tenant-1:pbx-1:q1:201', body: 'New caller — queue 800' });
    expect(second.calls[0]?.[1]).toMatchObject({ popId: 'tenant-1:pbx-1:q1:202' });
  });

  it("names the queue by its name where the PBX's name for it is known", () => {
    const { pop, calls } = setup({ queueNames: { '800': 'Sales' } });
    pop.handle(ring('q1', { queue: '800', agents: ['201', '202'] }), false);
    expect(calls[0]?.[1]).toMatchObject({ body: 'New caller — queue Sales' });
  });

  describe('pop modes', () => {
    const answered = (by: string, extra = {}) => callEvent({ type: 'answered', pbxCallId: 'c1', answeredBy: by, agents: ['201', '202'], ...extra });
    const shown = (calls: ReturnType<typeof setup>['calls']) => calls.map(([k, a]) => `${k}:${typeof a === 'string' ? a : `${a.popId}:${(a.actions ?? []).join('+')}`}`);

    it('on answer: pops only when this agent answers, with a hang-up button, and withdraws at the end', () => {
      const { pop, calls } = setup({ settings: { popMode: 'answer' } });
      pop.handle(ring(), false);
      expect(calls).toEqual([]);
      pop.handle(answered('201'), false);
      pop.handle(answered('201'), false); // a duplicate does not pop twice
      pop.handle(callEvent({ type: 'ended', pbxCallId: 'c1' }), false);
      expect(shown(calls)).toEqual([`show:${KEY}:hangup`, `withdraw:${KEY}`]);
    });

    it('on ring: the pop carries answer and hang-up buttons', () => {
      const { pop, calls } = setup();
      pop.handle(ring(), false);
      expect(shown(calls)).toEqual([`show:${KEY}:answer+hangup`]);
    });

    it('off: never pops, on ring or on answer', () => {
      const { pop, calls } = setup({ settings: { popMode: 'off' } });
      pop.handle(ring(), false);
      pop.handle(answered('201'), false);
      expect(calls).toEqual([]);
    });

    it('never pops a call a colleague answered first, in either mode, even when its ring comes late', () => {
      for (const popMode of ['ring', 'answer'] as const) {
        const { pop, calls } = setup({ settings: { popMode } });
        pop.handle(answered('202'), false);
        pop.handle(ring('c1', { agents: ['201', '202'] }), false); // a late ring after the answer elsewhere
        pop.handle(answered('201', { id: 'late-dup' }), false); // even a confused later answer naming us
        expect(calls.filter(([k]) => k === 'show')).toEqual([]);
      }
    });

    it('never pops a replayed answer after a resume', () => {
      const { pop, calls } = setup({ settings: { popMode: 'answer' } });
      pop.handle(answered('201'), true);
      expect(calls).toEqual([]);
    });

    it('withdraws a ring pop when a colleague answers', () => {
      const { pop, calls } = setup();
      pop.handle(ring('c1', { agents: ['201', '202'] }), false);
      pop.handle(answered('202'), false);
      expect(shown(calls)).toEqual([`show:${KEY}:answer+hangup`, `withdraw:${KEY}`]);
    });
  });

  it('says when an anonymous caller rings, without a lookup', () => {
    const { pop, calls, source } = setup();
    pop.handle(ring('a1', { caller: { raw: 'anonymous', e164: null, name: null, extension: null } }), false);
    expect(calls[0]?.[1]).toMatchObject({ title: 'anonymous', e164: null, clickUrl: 'https://crm.example/new?phone=' });
    expect(source.calls).toEqual([]);
  });
});

describe('ago', () => {
  it('reads like a person would say it', () => {
    expect(ago(NOW - 3 * DAY, NOW)).toBe('3 days ago');
    expect(ago(NOW - DAY, NOW)).toBe('yesterday');
    expect(ago(NOW - 2 * 3_600_000, NOW)).toBe('2 hours ago');
    expect(ago(NOW - 10_000, NOW)).toBe('just now');
  });
});
