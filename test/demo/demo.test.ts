// `npm start` as a newcomer runs it: the demo as a child process, its output read like a person
// would read it. --once plays the scripted calls and exits; without it, Ctrl-C must stop it cleanly.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { CHROMIUM_ARGS } from '../renderer/harness.js';

const ROOT = join(import.meta.dirname, '..', '..');
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');

interface Run {
  child: ChildProcessWithoutNullStreams;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves once the output matches. */
  until(pattern: RegExp): Promise<void>;
}

function runDemo(args: string[]): Run {
  const child = spawn(TSX, ['src/demo/index.ts', ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } });
  let out = '';
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    out += chunk.toString();
    for (const l of listeners) l();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return {
    child,
    output: () => out,
    exited,
    until: (pattern) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (pattern.test(out)) {
            listeners.delete(check);
            resolve();
          }
        };
        listeners.add(check);
        void exited.then(() => (pattern.test(out) ? resolve() : reject(new Error(`demo exited before ${pattern}:\n${out}`))));
        check();
      }),
  };
}

/** Lines of one agent with one tag, e.g. lines(out, '[101]', 'POP'). */
const lines = (out: string, who: string, tag: string) =>
  out.split('\n').filter((l) => new RegExp(`ms\\s+${who.replace(/[[\]]/g, '\\$&')}\\s+${tag.replace(/[()]/g, '\\$&')}\\s`).test(l));

const dataDirOf = (out: string) => /storage: embedded SQLite in (\S+)/.exec(out)?.[1];

describe('npm start (the demo)', () => {
  it('--once plays the scripted calls end to end on loopback and exits 0', async () => {
    const demo = runDemo(['--once']);
    const { code } = await demo.exited;
    const out = demo.output();
    expect(code, out).toBe(0);

    // Pops name the CRM contact, queue calls pop on both agents with the queue's name as the PBX has it and the loser's pop is withdrawn.
    expect(lines(out, '[101]', 'POP')).toEqual(
      expect.arrayContaining([
        expect.stringContaining('Jane Citizen — (02) 9876 5432 — Acme Pty Ltd — last activity 3 days ago'),
        expect.stringMatching(/Tom Nguyen — .* — queue Sales/),
        expect.stringContaining('(08) 6000 5555 — New caller'),
      ]),
    );
    expect(lines(out, '[102]', 'POP')).toEqual(expect.arrayContaining([expect.stringMatching(/Tom Nguyen — .* — queue Sales/), expect.stringContaining('Priya Shah')]));
    const queueScene = out.slice(out.indexOf('2. Tom Nguyen'), out.indexOf('3. A number'));
    expect(lines(queueScene, '[101]', 'pop gone')).toHaveLength(1);
    expect(lines(queueScene, '[102]', 'call')).toEqual(expect.arrayContaining([expect.stringContaining('answered by 102')]));
    // The colleague who lost the race did not miss the call: answered elsewhere, and only 102 logs it.
    expect(lines(queueScene, '[101]', 'call')).toEqual([expect.stringContaining('answered by 102')]);
    expect(lines(queueScene, '[101]', 'CRM')).toEqual([expect.stringContaining('not logged by this agent — Tom Nguyen, answered elsewhere (Answered by extension 102')]);
    expect(lines(queueScene, '[102]', 'CRM')).toEqual(expect.arrayContaining([expect.stringContaining('call logged — Tom Nguyen, answered')]));
    expect(queueScene.match(/\[CRM\]\s+HubSpot\s+call \d+: INBOUND COMPLETED, \d+ s, on Tom Nguyen, 1 recording file$/gm)).toHaveLength(1);

    // A queue call nobody answered: missed for both, logged once, by the first agent it rang.
    const missedQueue = out.slice(out.indexOf('5. Jane Citizen calls queue'), out.indexOf('6. 101 clicks'));
    for (const agent of ['[101]', '[102]']) expect(lines(missedQueue, agent, 'call')).toEqual([expect.stringContaining('missed (queue 800: nobody answered)')]);
    expect(lines(missedQueue, '[101]', 'CRM')).toEqual([expect.stringContaining('call logged — Jane Citizen, missed')]);
    expect(lines(missedQueue, '[102]', 'CRM')).toEqual([expect.stringContaining('not logged by this agent — Jane Citizen, missed')]);
    expect(missedQueue.match(/\[CRM\]\s+HubSpot\s+call \d+: INBOUND MISSED/gm)).toHaveLength(1);

    // Signed in to the CRM through the browser flow; each call logged there, recordings uploaded.
    expect(lines(out, '[101]', 'CRM')[0]).toMatch(/signed in to HubSpot \(portal 62515\).*3 contacts synced/);
    expect(lines(out, '[101]', 'CRM')).toEqual(
      expect.arrayContaining([expect.stringContaining('call logged — Jane Citizen, answered'), expect.stringContaining('recording attached — Jane Citizen')]),
    );
    expect(lines(out, '[102]', 'CRM')).toEqual(expect.arrayContaining([expect.stringContaining('call logged — Priya Shah, missed')]));
    expect(out).toMatch(/\[CRM\]\s+HubSpot\s+call \d+: INBOUND COMPLETED, \d+ s, on Jane Citizen, 1 recording file$/m);
    expect(out).toMatch(/\[CRM\]\s+HubSpot\s+call \d+: INBOUND MISSED, 0 s, on Priya Shah, 0 recording files$/m);
    expect(out).toMatch(/\[CRM\]\s+HubSpot\s+task \d+: "Call back Priya Shah \(\+61730001234\)", due /);

    // Click-to-dial from the agent's own extension; hostile and premium links refused with reasons.
    expect(lines(out, '[101]', 'DIAL ok')).toEqual([expect.stringContaining('+1 415 555 0123 from ext 101')]);
    expect(out).toMatch(/\[3CX\]\s+makecall\s+from ext 101 \(desk phone\) to \+14155550123/);
    // Nobody picked up the dialled number: not answered, never "missed".
    expect(out).toMatch(/\[CRM\]\s+HubSpot\s+call \d+: OUTBOUND NO_ANSWER, 0 s, on no contact \(unknown number\), 0 recording files$/m);
    expect(lines(out, '[101]', 'DIAL no')).toEqual([
      expect.stringContaining('refused on the agent (embedded_url)'),
      expect.stringContaining('refused by the bus (dial_policy)'),
    ]);
    expect(out).toMatch(/\[3CX\]\s+makecall\s+none \(0 requests\)/);

    expect(out).toMatch(/all \d+ checks passed/);
    expect(out).not.toMatch(/CHECK|demo failed/);
    // Loopback only: every URL shown is on 127.0.0.1, and no JSON log line leaked into the show.
    expect(out.match(/https?:\/\/[^\s/]+/g)?.filter((u) => !u.includes('127.0.0.1'))).toEqual([]);
    expect(out).not.toMatch(/^\{"level"/m);
    // The temp data directory is gone.
    expect(dataDirOf(out)).toBeTruthy();
    expect(existsSync(dataDirOf(out)!)).toBe(false);
  }, 60_000);

  it("serves the first agent's window to a browser, keeps placing calls, and stops cleanly on Ctrl-C", async () => {
    const demo = runDemo([]);
    await demo.until(/Ctrl-C to stop/);
    const url = /window \(what the tray app shows\): open (http:\/\/127\.0\.0\.1:\d+\/[0-9a-f]{32}\/)/.exec(demo.output())?.[1];
    expect(url, demo.output()).toBeTruthy();

    // The real renderer in Chromium, its window.agent backed by the demo's agent 101.
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
    try {
      const page = await browser.newPage();
      await page.goto(url!);
      await page.getByText('Alice Agent · ext. 101').waitFor();
      const jane = page.locator('li', { hasText: 'Jane Citizen' }).first();
      await jane.getByText('Logged · recording attached').waitFor();
      await page.getByText('CRM', { exact: true }).click();
      await page.getByText(/62515/).waitFor(); // signed in to the simulated HubSpot portal
    } finally {
      await browser.close();
    }
    // Without the random path, nothing is served.
    expect((await fetch(new URL('/index.html', url))).status).toBe(404);

    await demo.until(/Ctrl-C to stop[\s\S]*POP/);
    demo.child.kill('SIGINT');
    const { code } = await demo.exited;
    const out = demo.output();
    expect(code, out).toBe(0);
    expect(out).toContain('Ctrl-C: stopping');
    expect(out).not.toMatch(/demo failed|Error/);
    expect(existsSync(dataDirOf(out)!)).toBe(false);
  }, 90_000);
});
