// The saved Zoho v8 OpenAPI files plus an overlay of what Zoho documents but the files do not
// model. Each patch names its source; everything else is validated against the files verbatim.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

// Vendored verbatim in ./openapi (source and commit in its README).
const SPEC_DIR = resolve(import.meta.dirname, 'openapi/v8.0');
export const ZOHO_SPEC_FILES = ['record.json', 'module_search.json', 'attachments.json', 'users.json', 'common.json'] as const;

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const API_EXCEPTION_401 = {
  description: 'invalid or expired token',
  content: { 'application/json': { schema: { $ref: '#/components/schemas/API_Exception' } } },
};

/** Patches, each with the documentation that justifies it. */
function overlay(file: string, doc: Json): void {
  for (const pathItem of Object.values(doc.paths ?? {}) as Json[]) {
    for (const op of Object.values(pathItem) as Json[]) {
      // Zoho answers 401 INVALID_TOKEN to an expired or revoked token (status codes page; the files
      // document only 200/4xx bodies per operation). record.json carries API_Exception for it.
      if (op?.responses && file === 'record.json') op.responses['401'] ??= API_EXCEPTION_401;
      if (op?.responses && file !== 'record.json') op.responses['401'] ??= { description: 'invalid or expired token' };
    }
  }
  // No match / nothing to list is 204 No Content, nothing modified since If-Modified-Since is 304
  // (v8 status-codes page https://www.zoho.com/crm/developer/docs/api/v8/status-codes.html); the
  // files document only 200 for these operations.
  const search = doc.paths['/crm/v8/{module_api_name}/search'] ?? doc.paths['/crm/v8/{module}/search'];
  if (search?.get) search.get.responses['204'] ??= { description: 'No Content: no record matched' };
  const list = doc.paths['/crm/v8/{module_api_name}']?.get;
  if (list) {
    list.responses['204'] ??= { description: 'No Content: no records' };
    list.responses['304'] ??= { description: 'Not Modified since If-Modified-Since' };
  }
  if (file === 'record.json') {
    // Response_Wrapper and API_Exception are both open objects with nothing required, so every body
    // matches both and `oneOf` rejects every response. Zoho's error bodies always carry status, code
    // and message (status-codes page, and the examples in record.json): requiring them makes the
    // branches disjoint without loosening anything else.
    doc.components.schemas.API_Exception.required = ['status', 'code', 'message'];
  }
  if (file === 'users.json') {
    // `email` carries the pattern [a-z0-9]{9}[@][a-z0-9]{5}[.]com, read off one sample address; it
    // matches almost no real address. The get-users page documents it as the user's e-mail address.
    doc.components.schemas.users.properties.email = { type: 'string', format: 'email' };
  }
  if (file === 'attachments.json') {
    // Success.details is oneOf [full details, {id}]: the second is a subset of the first, so the
    // documented full response matches both and fails `oneOf`. Intended meaning: at least an id.
    const details = doc.components.schemas.Success.properties.details;
    details.anyOf = details.oneOf;
    delete details.oneOf;
    const post = doc.paths['/crm/v8/{module}/{record_id}/Attachments'].post;
    // Upload a file: multipart/form-data with part `file` (v8 upload-attachment page); the file
    // models only the link variant, whose attachmentUrl is therefore not required for a file upload.
    post.parameters = post.parameters.map((p: Json) =>
      p.$ref === '#/components/parameters/attachmentUrl' ? { name: 'attachmentUrl', in: 'query', required: false, schema: { type: 'string' } } : p,
    );
    post.requestBody = {
      content: { 'multipart/form-data': { schema: { type: 'object', properties: { file: { type: 'string', format: 'binary' } }, required: ['file'] } } },
    };
    // Listing a record's attachments needs no `ids`: the file shares one `ids` parameter object
    // (required, as DELETE needs it) with the list. Zoho's v8 get-attachments page names `fields` as
    // the one mandatory parameter (kept required here); Zoho's SDK samples list with `ids` commented
    // out; crm-oas' later getAttachments operation (commit 381a4190) has no `ids` at all.
    const get = doc.paths['/crm/v8/{module}/{record_id}/Attachments'].get;
    get.parameters = get.parameters.map((p: Json) =>
      p.$ref === '#/components/parameters/ids' ? { name: 'ids', in: 'query', required: false, schema: { type: 'string' } } : p,
    );
  }
}

/** Writes the patched files to a temp dir; returns their paths and a cleanup. */
export function zohoSpecWithOverlay(): { files: string[]; dispose: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'zoho-oas-'));
  cpSync(SPEC_DIR, dir, { recursive: true });
  for (const file of ZOHO_SPEC_FILES) {
    const doc = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Json;
    overlay(file, doc);
    writeFileSync(join(dir, file), JSON.stringify(doc));
  }
  return { files: ZOHO_SPEC_FILES.filter((f) => f !== 'common.json').map((f) => join(dir, f)), dispose: () => rmSync(dir, { recursive: true, force: true }) };
}
