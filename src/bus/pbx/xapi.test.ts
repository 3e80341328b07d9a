// XAPI paging limits: a reconnect's call-log read must not run on without end.
import { describe, expect, it } from 'vitest';
import type { PbxHttp } from './http.js';
import { CALL_LOG_MAX_PAGES, XapiClient } from './xapi.js';

describe('XapiClient.callLog', () => {
  it('stops after CALL_LOG_MAX_PAGES full pages of a call log that never ends, returning the rows it read', async () => {
    const paths: string[] = [];
    const row = { CallId: 1, StartTime: '2026-12-07T05:00:00Z', Direction: 'Inbound', SourceDn: '+4930123456', DestinationDn: '101' };
    const http = { json: async (req: { path: string }) => (paths.push(req.path), { value: Array.from({ length: 100 }, () => row) }) } as unknown as PbxHttp;
    const rows = await new XapiClient(http).callLog(new Date(Date.now() - 30 * 86_400_000), new Date());
    expect(paths).toHaveLength(CALL_LOG_MAX_PAGES);
    expect(rows).toHaveLength(CALL_LOG_MAX_PAGES * 100);
    expect(paths.at(-1)).toContain(`$skip=${(CALL_LOG_MAX_PAGES - 1) * 100}`);
  });
});
