// The CRM-integration template a 3CX admin uploads (Admin Console > Integrations > CRM), one per
// PBX with its ingest URL and key filled in as parameter defaults. Structure follows
// our 3CX research notes (src/sim/3cx/NOTES.md section 4.5, a reconstruction), adjusted to wire.ts:
// - Number Prefix="Zeros": international numbers arrive as 00..., which survives a query string
//   (a literal "+" would decode as a space), whatever the PBX's country (a US PBX sends 0044...);
//   the bus normalises to E.164 itself (pbxNumberToE164 in src/shared/phone.ts).
// - The lookup also passes [Agent]. 3CX documents it for journaling only; where it is not filled
//   it arrives as the literal "[Agent]", which wire.ts treats as empty.
export interface TemplateInput {
  pbxId: string;
  /** The bus's public base URL, e.g. https://bus.example.com */
  publicUrl: string;
  /** The PBX's current template key (sent back in X-Api-Key). */
  templateKey: string;
  /** Bumped when a new template must replace an uploaded one. */
  version?: number;
}

const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };
const xml = (value: string) => value.replace(/[&<>"']/g, (c) => XML_ESCAPES[c]!);

/** The base every template request URL starts with: `${publicUrl}/v1/pbx/${pbxId}`. */
export function templateBaseUrl(publicUrl: string, pbxId: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/v1/pbx/${encodeURIComponent(pbxId)}`;
}

export function renderTemplate(input: TemplateInput): string {
  const baseUrl = xml(templateBaseUrl(input.publicUrl, input.pbxId));
  const key = xml(input.templateKey);
  const version = input.version ?? 1;
  return `<?xml version="1.0" encoding="utf-8"?>
<Crm Name="Ringbridge" Version="${version}" Country="Global" SupportsEmojis="false" ListPageSize="0">
  <Number Prefix="Zeros" MaxLength="[MaxLength]" />
  <Connection MaxConcurrentRequests="4" />
  <Parameters>
    <Parameter Name="BaseUrl" Type="String" Parent="General Configuration" Editor="String" Title="Ringbridge URL:" Default="${baseUrl}" />
    <Parameter Name="ApiKey" Type="Password" Parent="General Configuration" Editor="String" Title="Ringbridge template key:" Default="${key}" />
    <Parameter Name="ReportCallEnabled" Type="Boolean" Parent="" Editor="String" Title="Enable call journaling" Default="True" />
  </Parameters>
  <Authentication Type="No" />
  <Scenarios>
    <Scenario Id="" Type="REST">
      <Request SkipIf="" Url="[BaseUrl]/3cx/lookup?number=[Number]&amp;direction=[CallDirection]&amp;agent=[Agent]" MessagePasses="0" RequestEncoding="UrlEncoded" RequestType="Get" ResponseType="Json">
        <Headers>
          <Value Key="X-Api-Key" Type="String">[ApiKey]</Value>
        </Headers>
      </Request>
      <Rules>
        <Rule Type="Any">contact.id</Rule>
      </Rules>
      <Variables>
        <Variable Name="ContactId" Path="contact.id" />
        <Variable Name="FirstName" Path="contact.firstName" />
        <Variable Name="LastName" Path="contact.lastName" />
        <Variable Name="Company" Path="contact.company" />
        <Variable Name="Phone" Path="contact.phone" />
        <Variable Name="Url" Path="contact.url" />
      </Variables>
      <Outputs AllowEmpty="false">
        <Output Type="FirstName" Value="[FirstName]" />
        <Output Type="LastName" Value="[LastName]" />
        <Output Type="CompanyName" Value="[Company]" />
        <Output Type="PhoneBusiness" Value="[Phone]" />
        <Output Type="ContactUrl" Value="[Url]" />
        <Output Type="EntityId" Value="[ContactId]" />
        <Output Type="EntityType" Value="Contacts" />
      </Outputs>
    </Scenario>
    <Scenario Id="ReportCall" Type="REST">
      <Request SkipIf="[ReportCallEnabled]!=True" Url="[BaseUrl]/3cx/journal" MessagePasses="0" Message="" RequestContentType="application/json" RequestEncoding="Json" RequestType="Post" ResponseType="Json">
        <Headers>
          <Value Key="X-Api-Key" Type="String">[ApiKey]</Value>
        </Headers>
        <PostValues>
          <Value Key="callType" Passes="1" Type="String">[CallType]</Value>
          <Value Key="direction" Passes="1" Type="String">[CallDirection]</Value>
          <Value Key="number" Passes="1" Type="String">[Number]</Value>
          <Value Key="name" Passes="1" Type="String">[Name]</Value>
          <Value Key="agent" Passes="1" Type="String">[Agent]</Value>
          <Value Key="agentEmail" Passes="1" Type="String">[AgentEmail]</Value>
          <Value Key="duration" Passes="1" Type="String">[Duration]</Value>
          <Value Key="dateTime" Passes="1" Type="String">[DateTime]</Value>
          <Value Key="startUtc" Passes="2" Type="String">[[CallStartTimeUTC].ToString("yyyy-MM-ddTHH:mm:ssZ")]</Value>
          <Value Key="endUtc" Passes="2" Type="String">[[CallEndTimeUTC].ToString("yyyy-MM-ddTHH:mm:ssZ")]</Value>
          <Value Key="queue" Passes="1" Type="String">[QueueExtension]</Value>
          <Value Key="entityId" Passes="1" Type="String">[EntityId]</Value>
          <Value Key="recordingUrl" Passes="1" Type="String">[RecordingUrl]</Value>
        </PostValues>
      </Request>
      <Variables />
      <Outputs AllowEmpty="true" />
    </Scenario>
  </Scenarios>
</Crm>
`;
}
