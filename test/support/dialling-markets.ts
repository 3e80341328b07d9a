// Test data shared by the phone and dial tests.
import type { CountryCode } from 'libphonenumber-js';

export interface DiallingMarket {
  country: CountryCode;
  /** An international call as a person in that country dials it, with its own prefix. */
  dialled: string;
  /** The same number in 3CX's "Zeros" form (00 + country code), whatever the country. */
  zeros: string;
  e164: string;
}

const LONDON = { zeros: '0044 20 7946 0958', e164: '+442079460958' };
const toLondon = (country: CountryCode, prefix: string): DiallingMarket => ({ country, dialled: `${prefix} 44 20 7946 0958`, ...LONDON });

/**
 * The markets the product is sold in (README, demo and settings name AU, US, DE, GB, NZ; the CRMs'
 * data centres add CA, EU, IN, JP, SA) and neighbours whose international prefix differs: each
 * dials London with its own prefix (the UK dials Sydney).
 */
export const DIALLING_MARKETS: DiallingMarket[] = [
  toLondon('US', '011'),
  toLondon('CA', '011'),
  toLondon('AU', '0011'),
  toLondon('NZ', '00'),
  toLondon('JP', '010'),
  { country: 'GB', dialled: '00 61 2 9876 5432', zeros: '0061 2 9876 5432', e164: '+61298765432' },
  ...(['IE', 'DE', 'FR', 'NL', 'BE', 'ES', 'IT', 'AT', 'CH', 'SE', 'PL', 'IN', 'SA', 'ZA', 'MX', 'CN'] as const).map((c) => toLondon(c, '00')),
  // Carrier-selected international prefixes.
  toLondon('SG', '001'),
  toLondon('HK', '001'),
  toLondon('KR', '001'),
  toLondon('BR', '0021'),
];
