; Generated from build/windows-registry.ts (a test fails when they differ). Per-machine: SHCTX is HKLM.
!macro customInstall
  WriteRegStr SHCTX "Software\RegisteredApplications" "Ringbridge" "Software\Ringbridge\Capabilities"
  WriteRegStr SHCTX "Software\Ringbridge\Capabilities" "ApplicationName" "Ringbridge"
  WriteRegStr SHCTX "Software\Ringbridge\Capabilities" "ApplicationDescription" "Dial tel: and callto: links through your 3CX phone system."
  WriteRegStr SHCTX "Software\Ringbridge\Capabilities" "ApplicationIcon" "$\"$INSTDIR\${APP_EXECUTABLE_FILENAME}$\",0"
  WriteRegStr SHCTX "Software\Ringbridge\Capabilities\URLAssociations" "tel" "Ringbridge.Url.tel"
  WriteRegStr SHCTX "Software\Classes\Ringbridge.Url.tel" "" "Ringbridge tel: link"
  WriteRegStr SHCTX "Software\Classes\Ringbridge.Url.tel\DefaultIcon" "" "$\"$INSTDIR\${APP_EXECUTABLE_FILENAME}$\",0"
  WriteRegStr SHCTX "Software\Classes\Ringbridge.Url.tel\shell\open\command" "" "$\"$INSTDIR\${APP_EXECUTABLE_FILENAME}$\" $\"%1$\""
  WriteRegStr SHCTX "Software\Ringbridge\Capabilities\URLAssociations" "callto" "Ringbridge.Url.callto"
  WriteRegStr SHCTX "Software\Classes\Ringbridge.Url.callto" "" "Ringbridge callto: link"
  WriteRegStr SHCTX "Software\Classes\Ringbridge.Url.callto\DefaultIcon" "" "$\"$INSTDIR\${APP_EXECUTABLE_FILENAME}$\",0"
  WriteRegStr SHCTX "Software\Classes\Ringbridge.Url.callto\shell\open\command" "" "$\"$INSTDIR\${APP_EXECUTABLE_FILENAME}$\" $\"%1$\""
  WriteRegStr SHCTX "Software\Classes\ringbridge" "" "URL:Ringbridge"
  WriteRegStr SHCTX "Software\Classes\ringbridge" "URL Protocol" ""
  WriteRegStr SHCTX "Software\Classes\ringbridge\shell\open\command" "" "$\"$INSTDIR\${APP_EXECUTABLE_FILENAME}$\" $\"%1$\""
  ; Tell Explorer and Default Apps that associations changed (SHCNE_ASSOCCHANGED).
  System::Call 'shell32::SHChangeNotify(i 0x08000000, i 0, p 0, p 0)'
!macroend

!macro customUnInstall
  DeleteRegValue SHCTX "Software\RegisteredApplications" "Ringbridge"
  DeleteRegKey SHCTX "Software\Ringbridge\Capabilities"
  DeleteRegKey SHCTX "Software\Classes\Ringbridge.Url.tel"
  DeleteRegKey SHCTX "Software\Classes\Ringbridge.Url.callto"
  DeleteRegKey SHCTX "Software\Classes\ringbridge"
  DeleteRegKey /ifempty SHCTX "Software\Ringbridge"
  System::Call 'shell32::SHChangeNotify(i 0x08000000, i 0, p 0, p 0)'
!macroend
