; Inno Setup script of Rubicon's Windows installer (Inno Setup 6).
;
;   python installer\build.py            (on Windows: the PyInstaller folder, dist\rubicon)
;   iscc /DVersion=0.1.0 installer\windows\rubicon.iss
;
; Per-machine: Program Files, the Start menu of every user, rubicon:// links
; registered under HKLM\Software\Classes. The admin's locked settings live in
; %ProgramData%\Rubicon\rubicon.toml; an example is put there only where no file
; is, and an uninstall leaves the admin's file in place.
;
; Unattended (software distribution, GPO, Intune):
;   rubicon-setup-0.1.0.exe /VERYSILENT /SUPPRESSMSGBOXES /NORESTART /LOG=C:\rubicon-setup.log
;   "%ProgramFiles%\Rubicon\unins000.exe" /VERYSILENT /SUPPRESSMSGBOXES
; Users' own settings and logs (%LOCALAPPDATA%\rubicon) stay after an uninstall,
; unless the person uninstalling says otherwise when asked, or a silent
; uninstall is given /PURGEUSERDATA (then the account running it loses its own).

#ifndef Version
  #error Pass the version: iscc /DVersion=X.Y.Z rubicon.iss
#endif
#define Bundle "..\..\dist\rubicon"

[Setup]
; AppId ties upgrades and the uninstaller together: never change it.
AppId={{6E0D3C2A-7F4B-4C86-9B0E-3D5A1F2C8B71}
AppName=Rubicon
AppVersion={#Version}
AppVerName=Rubicon {#Version}
AppPublisher=The Rubicon developers
AppPublisherURL=https://example.org/rubicon
DefaultDirName={autopf}\Rubicon
DefaultGroupName=Rubicon
DisableProgramGroupPage=yes
PrivilegesRequired=admin
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir=..\..\dist
OutputBaseFilename=rubicon-setup-{#Version}
SetupIconFile=..\..\resources\icons\rubicon.ico
UninstallDisplayIcon={app}\rubicon.exe
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
; A running Rubicon holds its files: close it first (Restart Manager).
CloseApplications=yes
RestartApplications=no
ChangesAssociations=yes

[Files]
Source: "{#Bundle}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs
Source: "..\debian\launcher\rubicon.toml"; DestDir: "{commonappdata}\Rubicon"; DestName: "rubicon.toml.example"; Flags: ignoreversion

[Dirs]
; Users read the admin's file; only administrators change it.
Name: "{commonappdata}\Rubicon"; Permissions: users-readexec

[Icons]
Name: "{autoprograms}\Rubicon"; Filename: "{app}\rubicon.exe"; Comment: "Sign in and open your remote desktops"

[Registry]
; rubicon://broker/desktop links open Rubicon, for every user of this computer.
Root: HKLM; Subkey: "Software\Classes\rubicon"; ValueType: string; ValueName: ""; ValueData: "URL:Rubicon link"; Flags: uninsdeletekey
Root: HKLM; Subkey: "Software\Classes\rubicon"; ValueType: string; ValueName: "URL Protocol"; ValueData: ""
Root: HKLM; Subkey: "Software\Classes\rubicon\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: """{app}\rubicon.exe"",0"
Root: HKLM; Subkey: "Software\Classes\rubicon\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\rubicon.exe"" ""%1"""

[Run]
Filename: "{app}\rubicon.exe"; Description: "Start Rubicon"; Flags: nowait postinstall skipifsilent

[Code]
function PurgeAsked(): Boolean;
var
  I: Integer;
begin
  Result := False;
  for I := 1 to ParamCount do
    if CompareText(ParamStr(I), '/PURGEUSERDATA') = 0 then
      Result := True;
end;

procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
var
  Purge: Boolean;
begin
  if CurUninstallStep <> usPostUninstall then
    exit;
  if UninstallSilent() then
    Purge := PurgeAsked()
  else
    Purge := MsgBox('Also remove your Rubicon settings, remembered servers and logs?' + #13#10 +
      'Passwords in Windows Credential Manager are not touched.',
      mbConfirmation, MB_YESNO or MB_DEFBUTTON2) = IDYES;
  if Purge then
    DelTree(ExpandConstant('{localappdata}\rubicon'), True, True, True);
end;
