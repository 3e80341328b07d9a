import { describe, expect, it } from 'vitest';
import { mainWindowOptions } from './window-options.js';

describe('main window options', () => {
  const { webPreferences } = mainWindowOptions('/app/out/preload/index.cjs');

  it('isolates and sandboxes the renderer with no Node', () => {
    expect(webPreferences.sandbox).toBe(true);
    expect(webPreferences.contextIsolation).toBe(true);
    expect(webPreferences.nodeIntegration).toBe(false);
    expect(webPreferences.nodeIntegrationInWorker).toBe(false);
    expect(webPreferences.nodeIntegrationInSubFrames).toBe(false);
  });

  it('keeps web security on and webviews, spellcheck and insecure content off', () => {
    expect(webPreferences.webSecurity).toBe(true);
    expect(webPreferences.allowRunningInsecureContent).toBe(false);
    expect(webPreferences.webviewTag).toBe(false);
    expect(webPreferences.spellcheck).toBe(false);
    expect(webPreferences.navigateOnDragDrop).toBe(false);
    expect(webPreferences.experimentalFeatures).toBe(false);
  });

  it('loads the given preload and nothing else', () => {
    expect(webPreferences.preload).toBe('/app/out/preload/index.cjs');
  });
});
