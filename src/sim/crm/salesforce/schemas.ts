// Salesforce's REST contract as Salesforce documents it, written here for the simulator (Salesforce
// publishes no OpenAPI for the sObject REST API). Nothing here comes from the adapter under test:
// each schema names the page it was written from. Field properties: "Create" = writable on insert,
// "Update" = writable on update; a field without them is read-only and refused (INVALID_FIELD).
import { z } from 'zod';

/** The API version the simulator serves (REST resources live under /services/data/vXX.X). */
export const SF_API_VERSION = 'v62.0';

// ID Field Type: 15- or 18-character case-(in)sensitive ids whose first 3 characters name the object
// (003 Contact, 00Q Lead, 005 User, 00G Group/queue, 00T Task, 068 ContentVersion).
// https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/field_types.htm#i1435616
const sfId = (prefixes: string[], what: string) =>
  z.string().regex(new RegExp(`^(${prefixes.join('|')})[A-Za-z0-9]{12}([A-Za-z0-9]{3})?$`), `${what} id (${prefixes.join('/')}…)`);

// Task fields with Create/Update properties and their types and limits.
// https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_task.htm
const taskWritable = {
  /** combobox, limit 255. */
  Subject: z.string().max(255).nullable(),
  /** date, label "Due Date". */
  ActivityDate: z.iso.date().nullable(),
  /** picklist; the standard TaskStatus values. */
  Status: z.enum(['Not Started', 'In Progress', 'Completed', 'Waiting on someone else', 'Deferred']),
  /** picklist; the standard TaskPriority values. */
  Priority: z.enum(['High', 'Normal', 'Low']),
  /** picklist (standard values Call, Email, Meeting, Other); picklist values are at most 40 characters here. */
  Type: z.string().max(40).nullable(),
  /** textarea, limit 32,000. */
  Description: z.string().max(32_000).nullable(),
  /** reference to a Contact or Lead. */
  WhoId: sfId(['003', '00Q'], 'a Contact or Lead').nullable(),
  /** reference to a non-human object (Account, Opportunity, …): never a person. */
  WhatId: z.string().regex(/^(?!003|00Q)[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$/, 'a non-person record id').nullable(),
  /** reference to the User or queue that owns the task (a malformed one is refused before this: MALFORMED_ID). */
  OwnerId: sfId(['005', '00G'], 'a User or queue'),
  /** picklist: "The type of call being answered: Inbound, Internal, or Outbound." */
  CallType: z.enum(['Inbound', 'Internal', 'Outbound']).nullable(),
  /** int: duration of the call in seconds. */
  CallDurationInSeconds: z.number().int().min(0).nullable(),
  /** string, limit 255. */
  CallObject: z.string().max(255).nullable(),
  /** string, limit 255: the result of the call. */
  CallDisposition: z.string().max(255).nullable(),
};

/**
 * POST /sobjects/Task body. TaskSubtype, a restricted picklist, is taken as Create-only (accepted
 * here, refused on update); that and its values (Task, Email, ListEmail, Cadence, Call, LinkedIn)
 * were not on the pages read this session (unconfirmed). The adapter uses Task and Call.
 */
export const TaskCreateBody = z.strictObject({
  ...taskWritable,
  TaskSubtype: z.enum(['Task', 'Email', 'ListEmail', 'Cadence', 'Call', 'LinkedIn']),
}).partial();

/** PATCH /sobjects/Task/{id} body: the Update fields only. */
export const TaskUpdateBody = z.strictObject(taskWritable).partial();

// ContentVersion fields with Create properties. PathOnClient is "required" when the file is stored
// in Salesforce (ContentLocation S, the default); VersionData is base64 in a JSON insert ("Insert
// or Update Blob Data": at most 37.5 MB once base64-encoded in a JSON body).
// https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_contentversion.htm
// https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_sobject_insert_update_blob.htm
export const ContentVersionCreateBody = z.strictObject({
  Title: z.string().min(1).max(255).optional(),
  PathOnClient: z.string().min(1).max(500),
  VersionData: z.base64().max(37.5 * 1024 * 1024),
  /** reference, Create only: the record (e.g. a Task) the file is first published to. */
  FirstPublishLocationId: z.string().regex(/^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$/, 'a record id').optional(),
  Description: z.string().max(1000).optional(),
  ContentLocation: z.enum(['S', 'E', 'L']).optional(),
  Origin: z.enum(['C', 'H']).optional(),
  ReasonForChange: z.string().max(1000).optional(),
});

// User fields the simulator holds (Name is read-only, compound of FirstName and LastName; Email up
// to 128 characters and not unique; Username unique, in the form of an e-mail, up to 80; IsActive).
// https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_user.htm
// https://developer.salesforce.com/docs/atlas.en-us.sfFieldRef.meta/sfFieldRef/salesforce_field_reference_User.htm
export const UserFields = z.strictObject({
  Username: z.email().max(80),
  Email: z.email().max(128),
  FirstName: z.string().max(40).optional(),
  LastName: z.string().min(1).max(80),
  IsActive: z.boolean().default(true),
});

/** A Task's OwnerId must be the Id of a User or queue: the test the simulator applies before the record type check. */
export const OWNER_ID = /^(005|00G)[A-Za-z0-9]{12}([A-Za-z0-9]{3})?$/;
/** Any well-formed record Id (15 or 18 characters). */
export const RECORD_ID = /^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$/;

// GET /query?q=<SOQL> and GET /search?q=<SOSL>: the statement is the `q` parameter.
// https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_query.htm
// https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_search.htm
export const StatementParams = z.object({ q: z.string().min(1) });

/** Every record in a result carries attributes {type, url}. */
const ResultRecord = z.looseObject({ attributes: z.object({ type: z.string(), url: z.string() }), Id: z.string() });

/**
 * Query result: totalSize, done, records, and nextRecordsUrl while done is false.
 * https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_query.htm
 */
export const QueryResult = z.strictObject({
  totalSize: z.number().int().min(0),
  done: z.boolean(),
  records: z.array(ResultRecord),
  nextRecordsUrl: z.string().startsWith(`/services/data/${SF_API_VERSION}/query/`).optional(),
});

/**
 * Search result (API 36.0 and later): {searchRecords: [...]}.
 * https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_search.htm
 */
export const SearchResult = z.strictObject({ searchRecords: z.array(ResultRecord) });

/**
 * Create result: 201 with {id, success, errors}.
 * https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_sobject_create.htm
 */
export const SaveResult = z.strictObject({ id: z.string(), success: z.literal(true), errors: z.array(z.unknown()).length(0) });

// Lead fields with Create properties that a new caller's lead uses: LastName and Company are
// required on create ("Required" in the Lead field list); Phone a phone field (limit 40).
// https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_lead.htm
export const LeadCreateBody = z.strictObject({
  FirstName: z.string().max(40).optional(),
  LastName: z.string().min(1).max(80),
  Company: z.string().min(1).max(255),
  Phone: z.string().max(40).optional(),
  MobilePhone: z.string().max(40).optional(),
  LeadSource: z.string().max(255).optional(),
  OwnerId: sfId(['005', '00G'], 'a User or queue').optional(),
});
