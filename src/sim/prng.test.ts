import { describe, expect, it } from 'vitest';
import { mulberry32 } from './prng.js';

describe('mulberry32', () => {
  it('replays the reference sequence for a seed (corpora and bench schedules depend on it)', () => {
    const next = mulberry32(0x5eed);
    expect([next(), next(), next()].map((x) => x * 2 ** 32)).toEqual([3049564378, 1229806541, 4088390650]);
    const zero = mulberry32(0);
    expect([zero(), zero(), zero()].map((x) => x * 2 ** 32)).toEqual([1144304738, 1416247, 958946056]);
  });

  it('stays in [0, 1)', () => {
    const next = mulberry32(3966);
    for (let i = 0; i < 10_000; i++) {
      const x = next();
      expect(x >= 0 && x < 1).toBe(true);
    }
  });
});
