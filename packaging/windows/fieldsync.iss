; Inno Setup script: the Windows installer of Field Sync for Autotask.
;
; Per-user install by default (no administrator rights), a Start menu entry, an optional start at
; login (the same HKCU Run value the program's own setting writes), and an uninstaller that keeps
; the user's database, queue and logs unless asked to remove them. Run as an administrator with
; /ALLUSERS it installs for every user of the computer (Program Files, HKLM Run value).
;
; Build from the repository root after `pyinstaller packaging/fieldsync.spec`:
;   iscc /DAppVersion=1.2.3rc1 /DAppNumericVersion=1.2.3.0 packaging\windows\fieldsync.iss
; AppNumericVersion is the four-number form Windows keeps (x.y.z.0 of the release part):
;   python packaging/windows/numeric_version.py 1.2.3rc1
;
; Silent install for a team, with an administrator's policy file:
;   FieldSync-<version>-setup.exe /ALLUSERS /VERYSILENT /POLICY=C:\path\policy.json
; run as an administrator (a deployment tool runs it as SYSTEM): a per-machine install that copies
; the file to {commonappdata}\FieldSync\policy.json before anything is installed. Every
; per-machine install (with /POLICY or without) first makes that folder administrators' own:
; owner Administrators, inheritance removed, full control for SYSTEM and Administrators and read
; for Users, so a standard user can neither have made it nor change what is in it. A policy.json
; a user put there before keeps its owner and the program refuses it (agent/config/policy_guard.py);
; /POLICY replaces it with a new file. /POLICY without an administrative install, a policy file
; that is missing or cannot be copied, or a folder whose permissions cannot be set stops the
; install with a message (exit code 7).
; The version comes from agent/__init__.py through the build; the result is
; dist\installer\FieldSync-<version>-setup.exe.

#ifndef AppVersion
  #error Pass the version: iscc /DAppVersion=x.y.z packaging\windows\fieldsync.iss
#endif
#ifndef AppNumericVersion
  #error Pass the numeric version too: /DAppNumericVersion=x.y.z.0 (packaging\windows\numeric_version.py)
#endif
#ifndef SourceDir
  #define SourceDir "..\..\dist\FieldSync"
#endif
#ifndef IconFile
  #define IconFile "..\..\build\icons\FieldSync.ico"
#endif
#define AppName "Field Sync for Autotask"
#define AppExe "FieldSync.exe"
; Held by every running Field Sync process (agent/app_mutex.py), in the user's session and in the
; global namespace (a copy another user runs in their own session): setup and uninstall ask the
; user to quit it first, so no file is left locked.
#define AppMutex "FieldSyncForAutotask.Running"
#define GlobalAppMutex "Global\FieldSyncForAutotask.Running"
; The Run value name matches ui/autostart.py, so the installer's task and the in-app setting agree.
#define RunValue "FieldSync"
#define RunKey "Software\Microsoft\Windows\CurrentVersion\Run"

[Setup]
; Never change the AppId: upgrades and the uninstaller find earlier installs by it.
AppId={{6F1B7C52-3A4E-4D8B-9C21-5E7A0D4F8B13}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=Field Sync
VersionInfoVersion={#AppNumericVersion}
VersionInfoTextVersion={#AppVersion}
VersionInfoProductTextVersion={#AppVersion}
; {autopf}: %LOCALAPPDATA%\Programs for one user, Program Files with /ALLUSERS.
DefaultDirName={autopf}\FieldSync
DefaultGroupName=Field Sync
DisableProgramGroupPage=yes
DisableDirPage=auto
PrivilegesRequired=lowest
; /ALLUSERS (run as an administrator) makes it an administrative, per-machine install.
PrivilegesRequiredOverridesAllowed=commandline
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
OutputDir=..\..\dist\installer
OutputBaseFilename=FieldSync-{#AppVersion}-setup
SetupIconFile={#IconFile}
UninstallDisplayIcon={app}\{#AppExe}
UninstallDisplayName={#AppName}
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
; A running copy holds its files open: setup and uninstall ask the user to quit it first.
AppMutex={#AppMutex},{#GlobalAppMutex}
CloseApplications=yes
RestartApplications=no

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "startatlogin"; Description: "Start Field Sync when I sign in to Windows"; GroupDescription: "Start-up:"
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
; The whole frozen folder: FieldSync.exe (the window) and FieldSync-cli.exe, its console companion
; for --self-test and the command-line subcommands, over the same _internal runtime.
Source: "{#SourceDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[InstallDelete]
; An upgrade replaces the whole bundled runtime: stale libraries from an older build must not load.
Type: filesandordirs; Name: "{app}\_internal"

[Icons]
Name: "{autoprograms}\Field Sync"; Filename: "{app}\{#AppExe}"; Comment: "Offline-first sync of Autotask tickets, notes and time"
Name: "{autodesktop}\Field Sync"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

[Registry]
; HKA: the user's own Run key, or the machine's (every user) in an administrative install.
Root: HKA; Subkey: "{#RunKey}"; ValueType: string; ValueName: "{#RunValue}"; ValueData: """{app}\{#AppExe}"""; Flags: uninsdeletevalue; Tasks: startatlogin

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,Field Sync}"; Flags: nowait postinstall skipifsilent

[UninstallDelete]
; The program folder only; the user's data is handled in [Code] below.
Type: dirifempty; Name: "{app}"

[Code]
// The database, the queue of unsent changes and the logs live in %LOCALAPPDATA%\FieldSync
// (platformdirs' user data directory). Unsent changes would be lost with it, so it is removed
// only when the user says so; a silent uninstall keeps it.
function UserDataDir(): String;
begin
  Result := ExpandConstant('{localappdata}\FieldSync');
end;

// An administrator's policy file (/POLICY=path), copied for every user of this computer.
function PolicySource(): String;
begin
  Result := ExpandConstant('{param:POLICY|}');
end;

function PolicyTarget(): String;
begin
  Result := ExpandConstant('{commonappdata}\FieldSync\policy.json');
end;

// The administrators' folder of the policy: owner Administrators, no permission inherited from
// ProgramData (which lets users create files and folders in it), full control for SYSTEM and
// Administrators, read for Users. Files in it inherit that; one a user made keeps its owner.
function SecurePolicyFolder(Dir: String): Boolean;
var
  ResultCode: Integer;
begin
  Result :=
    Exec(ExpandConstant('{sys}\icacls.exe'), '"' + Dir + '" /setowner *S-1-5-32-544 /C /Q',
      '', SW_HIDE, ewWaitUntilTerminated, ResultCode) and (ResultCode = 0);
  if Result then
    Result :=
      Exec(ExpandConstant('{sys}\icacls.exe'), '"' + Dir + '" /inheritance:r /grant:r ' +
        '*S-1-5-18:(OI)(CI)F *S-1-5-32-544:(OI)(CI)F *S-1-5-32-545:(OI)(CI)RX /C /Q',
        '', SW_HIDE, ewWaitUntilTerminated, ResultCode) and (ResultCode = 0);
end;

// Runs before any file is installed: a non-empty result stops setup with that message.
// A policy binds every user of the computer, so only an administrative install places it, and
// every administrative install takes the folder back from whoever made it.
function PrepareToInstall(var NeedsRestart: Boolean): String;
var
  Dir: String;
begin
  Result := '';
  if (PolicySource() <> '') and not IsAdminInstallMode() then
  begin
    Result := 'A policy file applies to every user of this computer, so /POLICY needs an ' +
      'installation for all users: run setup as an administrator with /ALLUSERS.';
    Exit;
  end;
  if (PolicySource() <> '') and not FileExists(PolicySource()) then
  begin
    Result := 'The policy file ' + PolicySource() + ' does not exist.';
    Exit;
  end;
  if not IsAdminInstallMode() then
    Exit;
  Dir := ExtractFileDir(PolicyTarget());
  if not ForceDirectories(Dir) or not SecurePolicyFolder(Dir) then
  begin
    Result := 'The folder ' + Dir + ' could not be made one only administrators can change ' +
      '(icacls failed).';
    Exit;
  end;
  if PolicySource() = '' then
    Exit;
  // A new file, owned by this administrator and inheriting the folder's permissions: copying
  // over an existing one would keep that file's owner and permissions.
  if FileExists(PolicyTarget()) and not DeleteFile(PolicyTarget()) then
    Result := 'The policy file ' + PolicyTarget() + ' could not be replaced.'
  else if not FileCopy(PolicySource(), PolicyTarget(), False) then
    Result := 'The policy file could not be copied to ' + PolicyTarget() + '.';
end;

// The start-at-login values under one root: "{#RunValue}", and "{#RunValue}-<profile>" for other
// profiles (both written by the in-app setting too, see ui/autostart.py).
procedure DeleteRunValuesIn(RootKey: Integer);
var
  Names: TArrayOfString;
  I: Integer;
begin
  if not RegGetValueNames(RootKey, '{#RunKey}', Names) then
    Exit;
  for I := 0 to GetArrayLength(Names) - 1 do
    if (CompareText(Names[I], '{#RunValue}') = 0) or
       (CompareText(Copy(Names[I], 1, Length('{#RunValue}-')), '{#RunValue}-') = 0) then
      RegDeleteValue(RootKey, '{#RunKey}', Names[I]);
end;

// The uninstalling user's values, and the machine's after an installation for all users.
procedure DeleteRunValues();
begin
  DeleteRunValuesIn(HKEY_CURRENT_USER);
  if IsAdminInstallMode() then
    DeleteRunValuesIn(HKEY_LOCAL_MACHINE);
end;

procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
var
  Answer: Integer;
begin
  if CurUninstallStep <> usPostUninstall then
    Exit;
  DeleteRunValues();
  if not DirExists(UserDataDir()) then
    Exit;
  if UninstallSilent() then
    Exit;
  Answer := MsgBox(
    'Also delete your Field Sync data?' + #13#10 + #13#10 +
    'This removes the local copy of your tickets, any changes not yet sent to Autotask, ' +
    'the audit trail and the logs in:' + #13#10 + UserDataDir() + #13#10 + #13#10 +
    'Choose No to keep them (a later install picks them up again).',
    mbConfirmation, MB_YESNO or MB_DEFBUTTON2);
  if Answer = IDYES then
  begin
    if not DelTree(UserDataDir(), True, True, True) then
      MsgBox('Some files in ' + UserDataDir() + ' could not be deleted; remove the folder by hand.',
        mbError, MB_OK);
  end;
end;
