// Who takes part in the demo: the business, its agents and the people who call it. One place, so
// the setup, the CRM seed and the scripted calls can never disagree about a name or number.

export const TENANT_NAME = 'Bayside Legal';
export const PBX_NAME = 'Head office';
export const PBX_COUNTRY = 'AU';
export const QUEUE = '800';
/** The queue's name on the PBX, which pops show (read through the XAPI). */
export const QUEUE_NAME = 'Sales';

export interface CastAgent {
  extension: string;
  name: string;
  crmUser: string;
  /** Runs as a terminal agent in the demo (the others exist on the bus only). */
  onScreen: boolean;
}

export const AGENTS: CastAgent[] = [
  { extension: '101', name: 'Alice Agent', crmUser: 'alice@bayside.example', onScreen: true },
  { extension: '102', name: 'Bob Agent', crmUser: 'bob@bayside.example', onScreen: true },
  { extension: '103', name: 'Carol Agent', crmUser: 'carol@bayside.example', onScreen: false },
];

export interface CastCaller {
  firstName: string;
  lastName: string;
  company: string;
  /** As the CRM stores it (local format, as people type it). */
  phone: string;
  /** As the PBX presents it (E.164 from the trunk). */
  e164: string;
  /** Days since the CRM last saw activity on the contact. */
  lastActivityDaysAgo: number;
}

export const KNOWN_CALLERS = {
  jane: { firstName: 'Jane', lastName: 'Citizen', company: 'Acme Pty Ltd', phone: '(02) 9876 5432', e164: '+61298765432', lastActivityDaysAgo: 3 },
  tom: { firstName: 'Tom', lastName: 'Nguyen', company: 'Globex', phone: '03 9123 4567', e164: '+61391234567', lastActivityDaysAgo: 12 },
  priya: { firstName: 'Priya', lastName: 'Shah', company: 'Initech', phone: '07 3000 1234', e164: '+61730001234', lastActivityDaysAgo: 40 },
} satisfies Record<string, CastCaller>;

/** Not in the CRM: pops as a new caller. */
export const UNKNOWN_CALLER = '+61860005555';

/** Where the click-to-dial scene calls (a fictional 555-01xx number). */
export const DIAL_LINK = 'tel:+1-415-555-0123';
export const DIAL_E164 = '+14155550123';
/** A tel: link with a script smuggled into a parameter: refused on the agent, never sent. */
export const HOSTILE_LINK = 'tel:+61298765432;phone-context=javascript:alert(1)';
/** A premium-rate number: well formed, so it reaches the bus, whose dial policy refuses it. */
export const PREMIUM_LINK = 'tel:1900 654 321';

export const fullName = (c: CastCaller): string => `${c.firstName} ${c.lastName}`;
