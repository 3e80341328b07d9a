// A request budget only the test opens: one request per window, on a clock only the test moves.
// After `shut()` every request waits until `room()` lets the oldest one start (the window is full
// again behind it), so tests can queue work "while the budget has no room" without timing.
import { RequestBudget } from '../../src/main/crm/budget.js';

export interface GatedBudget {
  budget: RequestBudget;
  /** Fills the window: requests from now wait for `room()`. */
  shut(): Promise<void>;
  /** Lets the oldest waiting request start. */
  room(): void;
  /** `room()` every `ms`: a budget that is always the bottleneck. Returns the stop. */
  ticking(ms: number): () => void;
}

/** `except`: paths that pass the gate (HubSpot's searches, exempt from its 10 s window). */
export function gatedBudget(except?: RegExp): GatedBudget {
  let clock = 0;
  const budget = new RequestBudget({ windows: [{ max: 1, perMs: 1_000, except }] }, () => clock);
  const room = () => {
    clock += 2_000; // past the window and its margin
    budget.pause(0); // wakes the budget to look at its line again
  };
  return {
    budget,
    shut: async () => (await budget.acquire('/test-gate'))(),
    room,
    ticking: (ms) => {
      const timer = setInterval(room, ms);
      return () => clearInterval(timer);
    },
  };
}
