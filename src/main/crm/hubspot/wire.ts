// HubSpot wire shapes we read, from the official OpenAPI files (specs/crm/hubspot/openapi).
import { z } from 'zod';

export const SimplePublicObject = z.object({
  id: z.string(),
  properties: z.record(z.string(), z.string().nullable()),
  createdAt: z.string(),
  updatedAt: z.string(),
  archived: z.boolean().optional(),
});
export type SimplePublicObject = z.infer<typeof SimplePublicObject>;

export const SearchResponse = z.object({
  total: z.number(),
  results: z.array(SimplePublicObject),
  paging: z.object({ next: z.object({ after: z.string() }).optional() }).optional(),
});

/** GET /calling/v1/dispositions: a bare array (developers.hubspot.com, legacy engagements "Get call engagement dispositions"). */
export const Dispositions = z.array(z.object({ id: z.string(), label: z.string(), deleted: z.boolean().optional() }));

export const HubSpotFile = z.object({ id: z.string(), name: z.string().optional(), path: z.string().optional() });

export const FileSearchResponse = z.object({ results: z.array(HubSpotFile) });

/** The search request (PublicObjectSearchRequest); `after`, `sorts`, `properties` are required by the spec. */
export interface SearchRequest {
  filterGroups: Array<{ filters: Array<{ propertyName: string; operator: string; value?: string; values?: string[] }> }>;
  properties: string[];
  sorts: string[];
  limit: number;
  after: string;
}

/** What we send to create a call or task (SimplePublicObjectInputForCreate in crm-calls/crm-tasks v3). */
export interface ObjectCreate {
  properties: Record<string, string>;
  associations: Array<{ to: { id: string }; types: Array<{ associationCategory: 'HUBSPOT_DEFINED'; associationTypeId: number }> }>;
}

/** GET /crm/v3/owners (CollectionResponsePublicOwnerForwardPaging in crm-owners-v3): what we read of it. */
export const OwnersPage = z.object({ results: z.array(z.object({ id: z.string(), email: z.string().optional() })) });

/** GET /crm/v4/objects/{type}/{id}/associations/{toType} (crm-associations-v4): the associated ids. */
export const AssociationsPage = z.object({ results: z.array(z.object({ toObjectId: z.union([z.string(), z.number()]) })) });

/**
 * The CRM batch answers: POST /crm/v3/objects/calls/batch/update and …/batch/read (crm-calls-v3),
 * /crm/v3/objects/0-3/batch/read (crm-deals-v3): 200
 * BatchResponseSimplePublicObject, or 207 BatchResponseSimplePublicObjectWithErrors whose `errors`
 * are StandardError items; what we read of them: the message, category and `context` (HubSpot's
 * answers name the inputs an item is about in `context.ids`; the file types context only as lists of strings).
 */
export const BatchResponse = z.object({
  results: z.array(SimplePublicObject),
  errors: z
    .array(z.object({ message: z.string(), category: z.string().optional(), status: z.string().optional(), context: z.record(z.string(), z.array(z.string())).optional() }))
    .optional(),
});
export type BatchResponse = z.infer<typeof BatchResponse>;
