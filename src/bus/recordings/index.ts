export { createRecordingService, type RecordingLinks, type RecordingServiceOptions } from './service.js';
export { recordingRoutes, type RecordingRoutesOptions } from './routes.js';
