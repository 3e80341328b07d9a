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

/**
 * What we send to create a task (POST /crm/v3/objects/tasks). No tasks OpenAPI file is saved, so
 * this zod schema is the contract the simulator checks, from the tasks guide
 * (developers.hubspot.com/docs/api/crm/tasks): hs_timestamp (due date, required), hs_task_subject,
 * hs_task_status NOT_STARTED|COMPLETED, hs_task_priority LOW|MEDIUM|HIGH, hs_task_type EMAIL|CALL|TODO,
 * hubspot_owner_id; plus our `ringbridge_call_key` (README "Portal setup").
 */
export const TaskCreate = z.strictObject({
  properties: z.strictObject({
    hs_timestamp: z.iso.datetime(),
    hs_task_subject: z.string().min(1),
    hs_task_body: z.string().optional(),
    hs_task_status: z.enum(['NOT_STARTED', 'COMPLETED']),
    hs_task_priority: z.enum(['LOW', 'MEDIUM', 'HIGH']).optional(),
    hs_task_type: z.enum(['EMAIL', 'CALL', 'TODO']).optional(),
    hubspot_owner_id: z.string().optional(),
    ringbridge_call_key: z.string().min(1),
  }),
  associations: z.array(
    z.strictObject({
      to: z.strictObject({ id: z.string() }),
      types: z.array(z.strictObject({ associationCategory: z.enum(['HUBSPOT_DEFINED', 'USER_DEFINED', 'INTEGRATOR_DEFINED']), associationTypeId: z.number().int() })),
    }),
  ),
});
export type TaskCreate = z.infer<typeof TaskCreate>;

/** The object search request (PublicObjectSearchRequest, same for every object), for spec-less searches. */
export const SearchRequestSchema = z.strictObject({
  filterGroups: z.array(z.strictObject({ filters: z.array(z.strictObject({ propertyName: z.string(), operator: z.string(), value: z.string().optional(), values: z.array(z.string()).optional() })) })),
  properties: z.array(z.string()),
  sorts: z.array(z.string()),
  limit: z.number().int().min(1).max(200),
  after: z.string(),
});
