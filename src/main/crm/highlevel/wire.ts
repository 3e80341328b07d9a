// HighLevel (LeadConnector) API v2 wire shapes we read, from apps/contacts.json and
// apps/conversations.json (GoHighLevel/highlevel-api-docs); only the fields the adapter uses.
import { z } from 'zod';

/** Each endpoint family pins its own API version (the `Version` header enum in the spec). */
export const VERSION = { contacts: '2021-07-28', conversations: '2021-04-15', users: '2021-07-28', opportunities: '2021-07-28' } as const;

export const Contact = z.object({
  id: z.string(),
  name: z.string().nullish(),
  contactName: z.string().nullish(),
  firstName: z.string().nullish(),
  lastName: z.string().nullish(),
  companyName: z.string().nullish(),
  phone: z.string().nullish(),
  assignedTo: z.string().nullish(),
  dateUpdated: z.string().nullish(),
  lastActivity: z.union([z.string(), z.number()]).nullish(),
});
export type Contact = z.infer<typeof Contact>;

/** GET /contacts/search/duplicate: the 200 body is not modelled in the spec; observed form `{contact}`. */
export const DuplicateContact = z.object({ contact: Contact.nullish() });

export const UpsertContact = z.object({ contact: z.object({ id: z.string() }) });

/** POST /contacts/search (body/response not modelled in the spec; documented on the linked page). */
export const ContactSearchPage = z.object({
  contacts: z.array(Contact.extend({ searchAfter: z.array(z.union([z.string(), z.number()])).nullish() })),
  total: z.number().optional(),
});

export const ConversationSearch = z.object({ conversations: z.array(z.object({ id: z.string(), contactId: z.string() })) });
export const CreatedConversation = z.object({ conversation: z.object({ id: z.string() }) });

export const ProcessedMessage = z.object({ conversationId: z.string(), messageId: z.string() });

export const Message = z.object({
  id: z.string(),
  contactId: z.string(),
  conversationId: z.string(),
  dateAdded: z.string(),
  direction: z.enum(['inbound', 'outbound']),
  conversationProviderId: z.string().nullish(),
});
export type Message = z.infer<typeof Message>;

export const MessagesPage = z.object({ lastMessageId: z.string().nullish(), nextPage: z.boolean(), messages: z.array(Message) });

export const Note = z.object({ id: z.string(), body: z.string().nullish() });
export type Note = z.infer<typeof Note>;
export const NotesList = z.object({ notes: z.array(Note) });
export const NoteResponse = z.object({ note: Note.optional() });

export const UploadedFiles = z.object({ uploadedFiles: z.record(z.string(), z.string()) });

/** GET/POST /contacts/{contactId}/tasks (contacts.json TaskSchema); `body` carries our marker. */
export const Task = z.object({ id: z.string(), title: z.string().nullish(), body: z.string().nullish(), dueDate: z.string().nullish(), completed: z.boolean().nullish() });
export const TasksList = z.object({ tasks: z.array(Task) });
export const TaskResponse = z.object({ task: Task.optional() });

/** GET /users/search (users.json SearchUserSuccessfulResponseDto): id, e-mail and deleted flag of each user. */
export const UsersSearch = z.object({
  users: z.array(z.object({ id: z.string(), email: z.string().nullish(), deleted: z.boolean().nullish() })).default([]),
});

/** GET /opportunities/search (SearchSuccessfulResponseDto in opportunities.json): what we read. */
export const OpportunitiesPage = z.object({
  opportunities: z.array(z.object({ id: z.string(), name: z.string().nullish(), status: z.string().nullish(), pipelineStageId: z.string().nullish(), createdAt: z.string().nullish() })),
});

/** POST /contacts/ (CreateContactsSuccessfulResponseDto). */
export const CreatedContact = z.object({ contact: Contact });
