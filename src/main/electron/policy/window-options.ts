// The main window's BrowserWindow options as plain data, so a test can pin every security flag.
// window.ts passes this object to `new BrowserWindow` unchanged.

export function mainWindowOptions(preloadPath: string) {
  return {
    width: 460,
    height: 680,
    minWidth: 380,
    minHeight: 480,
    show: false,
    title: 'Ringbridge',
    autoHideMenuBar: true,
    webPreferences: {
      preload: preloadPath,
      sandbox: true,
      contextIsolation: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      spellcheck: false,
      navigateOnDragDrop: false,
      safeDialogs: true,
      autoplayPolicy: 'user-gesture-required' as const,
      disableBlinkFeatures: 'Auxclick',
      experimentalFeatures: false,
      enableWebSQL: false,
    },
  };
}
