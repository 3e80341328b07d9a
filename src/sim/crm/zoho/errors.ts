// Zoho CRM's error body ({code, details, message, status: 'error'}), for the simulator's routes and its limits.
export const zohoError = (code: string, message: string, details: Record<string, unknown> = {}) => ({ code, details, message, status: 'error' });
