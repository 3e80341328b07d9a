// The XAPI (OData, PascalCase) calls the bus needs: recording rows and their audio (NOTES 3.2),
// and a user's status profile (swagger `Pbx.User`: CurrentProfileName, ForwardingProfiles), and
// the call log (NOTES 3.1) the Call Control connector reads after a takeover or reconnect.
import { PbxApiError } from './errors.js';
import type { PbxHttp } from './http.js';
import type { RecordingStream } from './port.js';
import { XapiCallLogRowSchema, XapiCollectionSchema, XapiQueueSchema, XapiRecordingSchema, XapiUserSchema, type XapiCallLogRow, type XapiRecording, type XapiUser } from './wire.js';

const RecordingsPage = XapiCollectionSchema(XapiRecordingSchema);
const CallLogPage = XapiCollectionSchema(XapiCallLogRowSchema);
const CALL_LOG_PAGE = 100;
/** A reconnect's call-log read holds up live events: past this many rows it stops (the rest is what it is). */
export const CALL_LOG_MAX_PAGES = 50;
/** OData date-time literal, to the second (a 3CX report's argument). */
const odataInstant = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
const UsersPage = XapiCollectionSchema(XapiUserSchema);
const QueuesPage = XapiCollectionSchema(XapiQueueSchema);
/** OData string literal: single quotes, a quote doubled (official helper odataParamEncoder). */
const odataString = (v: string) => `'${v.replace(/'/g, "''")}'`;

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

  /** The user behind an extension number, with the profiles it can switch to; null when none. */
  async userByNumber(extension: string): Promise<XapiUser | null> {
    const params = new URLSearchParams({
      $filter: `Number eq ${odataString(extension)}`,
      $select: 'Id,Number,CurrentProfileName,QueueStatus',
      $expand: 'ForwardingProfiles',
      $top: '1',
    });
    const page = UsersPage.parse(await this.http.json({ method: 'GET', path: `/xapi/v1/Users?${params.toString().replace(/\+/g, '%20')}` }));
    return page.value[0] ?? null;
  }

  /** The PBX's call queues by number and name (`GET /Queues?$select=Number,Name`), at most 200. */
  async queues(): Promise<Array<{ number: string; name: string }>> {
    const page = QueuesPage.parse(await this.http.json({ method: 'GET', path: '/xapi/v1/Queues?%24select=Number%2CName&%24top=200' }));
    return page.value.filter((q) => q.Number && q.Name).map((q) => ({ number: q.Number, name: q.Name }));
  }

  /** `PATCH /Users({Id})` with only `CurrentProfileName` (204 on success). */
  async setProfile(userId: number, profile: string): Promise<void> {
    const path = `/xapi/v1/Users(${userId})`;
    const res = await this.http.send({ method: 'PATCH', path, json: { CurrentProfileName: profile } });
    await res.body.dump();
    if (res.statusCode < 200 || res.statusCode >= 300) throw new PbxApiError(`3CX PATCH ${path} answered HTTP ${res.statusCode}`, res.statusCode);
  }

  /**
   * Every call-log row of segments that started between `from` and `to`. The function takes all
   * eleven arguments (0 = every source, destination and call type; no talk-time filter; the PBX's
   * internal plumbing hidden), as a live V20 PBX answered them [COMMUNITY]. 3CX pages report
   * functions before any $filter [COMMUNITY], so pages are read until a short one and filtered here,
   * at most CALL_LOG_MAX_PAGES of them.
   */
  async callLog(from: Date, to: Date, signal?: AbortSignal): Promise<XapiCallLogRow[]> {
    const args = [
      `periodFrom=${odataInstant(from)}`,
      `periodTo=${odataInstant(to)}`,
      'sourceType=0',
      "sourceFilter=''",
      'destinationType=0',
      "destinationFilter=''",
      'callsType=0',
      'callTimeFilterType=0',
      "callTimeFilterFrom='0:00:0'",
      "callTimeFilterTo='0:00:0'",
      'hidePcalls=true',
    ].join(',');
    const rows: XapiCallLogRow[] = [];
    for (let skip = 0; skip < CALL_LOG_MAX_PAGES * CALL_LOG_PAGE; skip += CALL_LOG_PAGE) {
      const path = `/xapi/v1/ReportCallLogData/Pbx.GetCallLogData(${encodeURI(args)})?$top=${CALL_LOG_PAGE}&$skip=${skip}`;
      const page = CallLogPage.parse(await this.http.json({ method: 'GET', path, signal })).value;
      rows.push(...page);
      if (page.length < CALL_LOG_PAGE) return rows;
    }
    return rows;
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
