// The XAPI (OData, PascalCase) calls the bus needs: recording rows and their audio (NOTES 3.2).
import { PbxApiError } from './errors.js';
import type { PbxHttp } from './http.js';
import type { RecordingStream } from './port.js';
import { XapiCollectionSchema, XapiRecordingSchema, type XapiRecording } from './wire.js';

const RecordingsPage = XapiCollectionSchema(XapiRecordingSchema);

export interface RecordingQuery {
  filter?: string;
  orderBy?: string;
  top?: number;
}

export class XapiClient {
  constructor(private readonly http: PbxHttp) {}

  async recordings(query: RecordingQuery, signal?: AbortSignal): Promise<XapiRecording[]> {
    const params = new URLSearchParams();
    if (query.filter) params.set('$filter', query.filter);
    if (query.orderBy) params.set('$orderby', query.orderBy);
    if (query.top !== undefined) params.set('$top', String(query.top));
    const qs = params.toString().replace(/\+/g, '%20');
    return RecordingsPage.parse(await this.http.json({ method: 'GET', path: `/xapi/v1/Recordings${qs ? `?${qs}` : ''}`, signal })).value;
  }

  /** Reading `/Recordings({id})` is rejected by 3CX; a filter on Id is the way (NOTES 3.2). */
  async recording(id: number): Promise<XapiRecording | null> {
    return (await this.recordings({ filter: `Id eq ${id}`, top: 1 }))[0] ?? null;
  }

  /** The audio as a stream straight from the socket: the body is piped, never buffered. */
  async download(recId: number): Promise<RecordingStream> {
    const res = await this.http.send({ method: 'GET', path: `/xapi/v1/Recordings/Pbx.DownloadRecording(recId=${recId})` });
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw new PbxApiError(`3CX DownloadRecording(${recId}) answered HTTP ${res.statusCode}`, res.statusCode);
    }
    const length = Number(res.headers['content-length']);
    const type = res.headers['content-type'];
    return {
      body: res.body,
      contentType: (Array.isArray(type) ? type[0] : type) ?? 'audio/x-wav',
      contentLength: Number.isFinite(length) && length >= 0 ? length : null,
    };
  }
}
