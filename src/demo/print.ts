// The demo's only output channel: short aligned lines, each scene's lines stamped with the ms since
// its call was handed to the PBX, so the screen-pop latency reads straight off the screen.
import { styleText } from 'node:util';

export type Tone = 'plain' | 'good' | 'bad' | 'dim' | 'head';

/** A line the demo printed, kept so scenes can wait for what they expect to see. */
export interface Printed {
  who: string;
  tag: string;
  text: string;
  at: number;
}

export class Printer {
  readonly lines: Printed[] = [];
  private sceneStart = performance.now();
  private readonly waiters = new Set<() => void>();

  constructor(
    private readonly write: (line: string) => void,
    private readonly color: boolean,
  ) {}

  heading(text: string): void {
    this.write('');
    this.write(this.paint(text, 'head'));
  }

  /** Plain indented text (setup sheet, notes). */
  note(text: string, tone: Tone = 'plain'): void {
    this.write(`  ${this.paint(text, tone)}`);
  }

  /** Starts a scene clock: the following lines show ms since now. */
  startScene(title: string): void {
    this.heading(title);
    this.sceneStart = performance.now();
  }

  /** One timed line from a participant: `+  14 ms  [101]  POP        Jane Citizen — …`. */
  say(who: string, tag: string, text: string, tone: Tone = 'plain'): void {
    const at = performance.now() - this.sceneStart;
    this.lines.push({ who, tag, text, at });
    const stamp = this.paint(`+${Math.round(at).toString().padStart(5)} ms`, 'dim');
    this.write(`  ${stamp}  ${who.padEnd(6)} ${this.paint(tag.padEnd(10), tone)} ${text}`);
    for (const wake of this.waiters) wake();
  }

  /** Resolves with the first line (printed since `from`) that matches, or null after `timeoutMs`. */
  async waitFor(match: (line: Printed) => boolean, timeoutMs: number, from = 0): Promise<Printed | null> {
    const find = () => this.lines.slice(from).find(match) ?? null;
    const found = find();
    if (found) return found;
    return new Promise((resolve) => {
      const done = (line: Printed | null) => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve(line);
      };
      const wake = () => {
        const line = find();
        if (line) done(line);
      };
      const timer = setTimeout(() => done(null), timeoutMs);
      this.waiters.add(wake);
    });
  }

  private paint(text: string, tone: Tone): string {
    if (!this.color || tone === 'plain') return text;
    const style = { good: 'green', bad: 'red', dim: 'gray', head: 'bold' } as const;
    return styleText(style[tone], text);
  }
}
