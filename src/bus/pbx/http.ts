// Authorised requests to one PBX: bearer from the TokenSource, one retry with a fresh token on 401
// (another process may have taken the client's only token, or it expired early).
import { request, type Dispatcher } from 'undici';
import { PbxApiError } from './errors.js';
import type { TokenSource } from './tokens.js';

export interface PbxRequest {
  method: 'GET' | 'POST' | 'PATCH';
  path: string;
  json?: unknown;
  signal?: AbortSignal;
}

export class PbxHttp {
  constructor(
    readonly baseUrl: string,
    readonly tokens: TokenSource,
    private readonly dispatcher?: Dispatcher,
  ) {}

  /** The raw response (2xx or not); the body must be consumed or dumped by the caller. */
  async send(req: PbxRequest): Promise<Dispatcher.ResponseData> {
    let token = await this.tokens.get();
    let res = await this.once(req, token);
    if (res.statusCode === 401) {
      await res.body.dump();
      token = await this.tokens.refresh(token);
      res = await this.once(req, token);
    }
    return res;
  }

  /** Parsed JSON of a 2xx answer; anything else throws PbxApiError with the status. */
  async json(req: PbxRequest): Promise<unknown> {
    const res = await this.send(req);
    if (res.statusCode < 200 || res.statusCode >= 300) {
      await res.body.dump();
      throw new PbxApiError(`3CX ${req.method} ${req.path} answered HTTP ${res.statusCode}`, res.statusCode);
    }
    return res.body.json();
  }

  private once(req: PbxRequest, token: string): Promise<Dispatcher.ResponseData> {
    return request(new URL(req.path, this.baseUrl), {
      method: req.method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(req.json === undefined ? {} : { 'content-type': 'application/json; charset=utf-8' }),
      },
      body: req.json === undefined ? undefined : JSON.stringify(req.json),
      signal: req.signal,
      dispatcher: this.dispatcher,
    });
  }
}
