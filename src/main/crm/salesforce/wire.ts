// Salesforce REST wire shapes the adapter sends and reads. No official OpenAPI exists for the
// sObject REST API: the adapter parses responses with these; the simulator checks requests with its
// own schemas written from Salesforce's documentation (src/sim/crm/salesforce/schemas.ts), never these.
import { z } from 'zod';

export const API_VERSION = 'v62.0';

/** Every record carries `attributes`; fields we did not SELECT are absent, unset ones null. */
const SObject = z.object({ attributes: z.object({ type: z.string(), url: z.string().optional() }), Id: z.string() }).loose();

export const ContactRecord = SObject.extend({
  Name: z.string().nullable().optional(),
  Phone: z.string().nullable().optional(),
  MobilePhone: z.string().nullable().optional(),
  OtherPhone: z.string().nullable().optional(),
  HomePhone: z.string().nullable().optional(),
  Company: z.string().nullable().optional(),
  OwnerId: z.string().nullable().optional(),
  LastActivityDate: z.string().nullable().optional(),
  LastModifiedDate: z.string().nullable().optional(),
});
export type ContactRecord = z.infer<typeof ContactRecord>;

export const SearchResponse = z.object({ searchRecords: z.array(ContactRecord) });

export const QueryResponse = <T extends z.ZodType>(record: T) =>
  z.object({ totalSize: z.number(), done: z.boolean(), records: z.array(record), nextRecordsUrl: z.string().optional() });

export const IdRecord = SObject;

/** SELECT OpportunityId FROM OpportunityContactRole … */
export const RoleRecord = SObject.extend({ OpportunityId: z.string() });
export const OpportunityRecord = SObject.extend({ Name: z.string().nullable().optional(), StageName: z.string().nullable().optional(), CreatedDate: z.string().nullable().optional() });
export const CaseRecord = SObject.extend({
  CaseNumber: z.string().nullable().optional(),
  Subject: z.string().nullable().optional(),
  Status: z.string().nullable().optional(),
  CreatedDate: z.string().nullable().optional(),
});

/** SELECT Id, Username FROM User … */
export const UserRecord = SObject.extend({ Username: z.string().nullable().optional() });

/** POST /sobjects/{type} answer. */
export const CreateResponse = z.object({ id: z.string(), success: z.literal(true), errors: z.array(z.unknown()) });

/** Error bodies are arrays: [{message, errorCode, fields?}]. */
export const ErrorBody = z.array(z.object({ message: z.string(), errorCode: z.string(), fields: z.array(z.string()).optional() }));

export const CallType = z.enum(['Inbound', 'Outbound', 'Internal']);

/** The Task fields we write for a call (request contract, checked by the simulator). */
export const TaskInput = z.strictObject({
  Subject: z.string().max(255),
  TaskSubtype: z.literal('Call'),
  Type: z.literal('Call'),
  Status: z.string(),
  CallType: CallType,
  CallDurationInSeconds: z.number().int().min(0),
  CallObject: z.string().max(255),
  CallDisposition: z.string().max(255),
  Description: z.string().max(32_000),
  ActivityDate: z.iso.date(),
  WhoId: z.string().regex(/^(003|00Q)[A-Za-z0-9]{12,15}$/, 'a Contact (003) or Lead (00Q) id').nullable().optional(),
  /** The picked Opportunity (006) or Case (500); null clears it. */
  WhatId: z.string().nullable().optional(),
  OwnerId: z.string().regex(/^(005|00G)[A-Za-z0-9]{12}([A-Za-z0-9]{3})?$/, 'a User (005) or queue (00G) id').optional(),
});
export type TaskInput = z.infer<typeof TaskInput>;

/**
 * A follow-up (to-do) Task for a missed call: Subject, Status, Priority, ActivityDate = due date
 * (Task field reference: "Due Date"), WhoId, OwnerId. `CallObject` carries our marker so a retry
 * finds the task it already made (`Description` is a long text area, which SOQL cannot filter).
 */
export const FollowUpTaskInput = z.strictObject({
  Subject: z.string().max(255),
  TaskSubtype: z.literal('Task'),
  Type: z.literal('Call'),
  Status: z.literal('Not Started'),
  Priority: z.enum(['High', 'Normal', 'Low']),
  ActivityDate: z.iso.date(),
  CallObject: z.string().max(255),
  Description: z.string().max(32_000),
  WhoId: TaskInput.shape.WhoId,
  OwnerId: TaskInput.shape.OwnerId,
});

export type FollowUpTaskInput = z.infer<typeof FollowUpTaskInput>;

