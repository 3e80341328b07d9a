// Failures talking to a PBX, with the status so callers can tell "refused" from "down".
export class PbxApiError extends Error {
  constructor(
    message: string,
    readonly status: number | null,
  ) {
    super(message);
    this.name = 'PbxApiError';
  }
}
