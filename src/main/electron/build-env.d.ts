// Values electron-vite fixes at build time in the main bundle: MAIN_VITE_* from the build's
// environment or .env. Only public values belong here (OAuth client ids are public by design).
interface ImportMetaEnv {
  readonly MAIN_VITE_HUBSPOT_CLIENT_ID?: string;
  readonly MAIN_VITE_SALESFORCE_CLIENT_ID?: string;
  readonly MAIN_VITE_ZOHO_CLIENT_ID?: string;
  readonly MAIN_VITE_HIGHLEVEL_CLIENT_ID?: string;
}

interface ImportMeta {
  readonly env: ImportMetaEnv;
}
