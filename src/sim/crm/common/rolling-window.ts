// A rolling-window request counter for the simulators' vendor limits (HighLevel's 100 per 10 s,
// Salesforce's daily allocation, Zoho's 24-hour credits): what was taken frees up `windowMs` later.
/** A rolling day: the daily limits' window. */
export const DAY_MS = 24 * 60 * 60 * 1000;

export class RollingWindow {
  /** Amounts taken, oldest first. */
  private readonly taken: { at: number; amount: number }[] = [];
  private total = 0;

  constructor(
    readonly limit: number,
    readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Amount taken within the window now. */
  get used(): number {
    const cutoff = this.now() - this.windowMs;
    while (this.taken.length > 0 && this.taken[0]!.at <= cutoff) this.total -= this.taken.shift()!.amount;
    return this.total;
  }

  get remaining(): number {
    return Math.max(0, this.limit - this.used);
  }

  /** Takes `amount` if the window has room for it; false (nothing taken) if not. */
  tryTake(amount = 1): boolean {
    if (this.used + amount > this.limit) return false;
    this.take(amount);
    return true;
  }

  /** Takes `amount` whether or not there is room (usage from elsewhere, e.g. other integrations). */
  take(amount: number): void {
    this.taken.push({ at: this.now(), amount });
    this.total += amount;
  }
}
