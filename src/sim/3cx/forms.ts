// The two forms in which a 3CX PBX itself (or a call-flow app beside it) reaches the bus over
// HTTPS: the CRM-template requests (lookup at ring, journal at end) and Standard Webhooks.
// Every delivery is recorded so tests and the demo can see what was sent and how it was answered.
import { Webhook } from 'standardwebhooks';
import { request } from 'undici';
import type { JournalBody, LookupAnswer } from '../../bus/ingest/crm-template/wire.js';
import type { WebhookCallPayload } from '../../bus/ingest/webhook/payload.js';

export interface BusTarget {
  /** Base URL of the bus, e.g. http://127.0.0.1:8080 */
  url: string;
  pbxId: string;
  /** X-Api-Key the CRM template sends; the template form is off without it. */
  templateKey?: string;
  /** whsec_... secret; the webhook form is off without it. */
  webhookSecret?: string;
}

export type DeliveryForm = 'template-lookup' | 'template-journal' | 'webhook';

export interface Delivery {
  form: DeliveryForm;
  status: number | null;
  error: string | null;
  /** The parsed answer body (the lookup's contact answer, or the bus's error). */
  answer: unknown;
}

export class BusForms {
  private readonly webhook: Webhook | null;

  constructor(
    private readonly target: BusTarget,
    private readonly deliveries: Delivery[],
  ) {
    this.webhook = target.webhookSecret ? new Webhook(target.webhookSecret) : null;
  }

  get templateEnabled(): boolean {
    return Boolean(this.target.templateKey);
  }

  get webhookEnabled(): boolean {
    return this.webhook !== null;
  }

  private base(): string {
    return `${this.target.url.replace(/\/$/, '')}/v1/pbx/${encodeURIComponent(this.target.pbxId)}`;
  }

  async lookup(query: { number: string; direction: 'Inbound' | 'Outbound'; agent: string }): Promise<LookupAnswer | null> {
    const qs = new URLSearchParams(query).toString();
    const delivery = await this.send('template-lookup', 'GET', `${this.base()}/3cx/lookup?${qs}`, {
      'x-api-key': this.target.templateKey ?? '',
    });
    return delivery.status === 200 ? (delivery.answer as LookupAnswer) : null;
  }

  async journal(body: JournalBody): Promise<void> {
    await this.send('template-journal', 'POST', `${this.base()}/3cx/journal`, {
      'x-api-key': this.target.templateKey ?? '',
      'content-type': 'application/json',
    }, JSON.stringify(body));
  }

  async sendWebhook(msgId: string, payload: WebhookCallPayload): Promise<void> {
    if (!this.webhook) return;
    const body = JSON.stringify(payload);
    const at = new Date();
    await this.send('webhook', 'POST', `${this.base()}/webhook`, {
      'content-type': 'application/json',
      'webhook-id': msgId,
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': this.webhook.sign(msgId, at, body),
    }, body);
  }

  private async send(form: DeliveryForm, method: 'GET' | 'POST', url: string, headers: Record<string, string>, body?: string): Promise<Delivery> {
    const delivery: Delivery = { form, status: null, error: null, answer: null };
    try {
      const res = await request(url, { method, headers, body });
      delivery.status = res.statusCode;
      const text = await res.body.text();
      delivery.answer = text ? safeJson(text) : null;
    } catch (err) {
      delivery.error = (err as Error).message;
    }
    this.deliveries.push(delivery);
    return delivery;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
