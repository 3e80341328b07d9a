// The saved HighLevel OpenAPI files plus an overlay of what the files state in prose but do not
// model. Each patch names its source; everything else is validated against the files verbatim.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

// Vendored verbatim in ./openapi (source and commit in its README).
const SPEC_DIR = resolve(import.meta.dirname, 'openapi');

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function overlay(doc: Json): void {
  const upload = doc.components.schemas.UploadFilesDto;
  // The upload operation's own description: "The files need to be a buffer with the key
  // fileAttachment". The schema lists attachmentUrls as required, which makes a file upload
  // (the operation's purpose) impossible; it is optional here.
  upload.properties.fileAttachment = { type: 'string', format: 'binary' };
  upload.required = upload.required.filter((name: string) => name !== 'attachmentUrls');
}

/** Writes the patched files to a temp dir; returns the API files and a cleanup. */
export function highLevelSpecWithOverlay(): { files: string[]; dispose: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'highlevel-oas-'));
  cpSync(SPEC_DIR, dir, { recursive: true });
  const conversations = join(dir, 'apps/conversations.json');
  const doc = JSON.parse(readFileSync(conversations, 'utf8')) as Json;
  overlay(doc);
  writeFileSync(conversations, JSON.stringify(doc));
  return {
    files: [join(dir, 'apps/contacts.json'), conversations, join(dir, 'apps/users.json'), join(dir, 'apps/opportunities.json')],
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}
