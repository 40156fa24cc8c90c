"""The installer scripts keep their promises: per-user, versioned by the build, data kept."""

from __future__ import annotations

import re
from pathlib import Path

from ui.autostart import RUN_KEY, WINDOW_EXE, entry_name

ROOT = Path(__file__).resolve().parents[2]
ISS = (ROOT / "packaging" / "windows" / "fieldsync.iss").read_text(encoding="utf-8")
SPEC = (ROOT / "packaging" / "fieldsync.spec").read_text(encoding="utf-8")


def define(name: str) -> str:
    found = re.findall(rf'^#define {name} "(.*)"$', ISS, flags=re.MULTILINE)
    assert len(found) == 1, f"{name} is defined {len(found)} times"
    return found[0]


def pascal(name: str) -> str:
    """The body of one [Code] procedure or function, up to the next one."""
    code = ISS.split("[Code]", 1)[1]
    start = re.search(rf"^(procedure|function) {name}\b", code, flags=re.MULTILINE)
    assert start, f"no {name} in [Code]"
    rest = code[start.end() :]
    following = re.search(r"^(procedure|function) ", rest, flags=re.MULTILINE)
    return rest[: following.start() if following else None]


def setting(name: str) -> str:
    found = re.findall(rf"^{name}=(.*)$", ISS, flags=re.MULTILINE)
    assert len(found) == 1, f"{name} is set {len(found)} times"
    return found[0].strip()


def test_windows_installer_is_per_user_with_a_fixed_app_id_and_the_builds_version() -> None:
    assert setting("PrivilegesRequired") == "lowest"
    assert setting("PrivilegesRequiredOverridesAllowed") == "commandline", "/ALLUSERS for all"
    assert re.fullmatch(r"\{\{[0-9A-F]{8}(-[0-9A-F]{4}){3}-[0-9A-F]{12}\}", setting("AppId"))
    assert setting("AppVersion") == "{#AppVersion}"
    assert "#error" in ISS.split("#endif")[0], "building without /DAppVersion stops"
    # %LOCALAPPDATA%\Programs per user, Program Files in an installation for all users
    assert setting("DefaultDirName") == "{autopf}\\FieldSync"
    run_key = next(line for line in ISS.splitlines() if line.startswith("Root: HKA;"))
    assert 'Subkey: "{#RunKey}"' in run_key and "Tasks: startatlogin" in run_key
    assert define("RunKey") == RUN_KEY
    assert define("RunValue") == entry_name("default")
    assert define("AppExe") == WINDOW_EXE  # what the program's own login entry names


def test_windows_uninstaller_deletes_user_data_only_after_a_yes() -> None:
    code = ISS.split("[Code]", 1)[1]
    assert code.count("DelTree(") == 1
    before_delete = code.split("DelTree(")[0]
    guarded = before_delete.rsplit("if Answer = IDYES then", 1)
    assert len(guarded) == 2 and "end;" not in guarded[1], "DelTree sits inside the yes branch"
    assert "MB_DEFBUTTON2" in before_delete, "No is the default answer"
    assert before_delete.index("UninstallSilent()") < before_delete.index("MsgBox(")


def test_spec_takes_the_version_from_the_package_and_keeps_macos_in_the_menu_bar() -> None:
    assert "from agent import __version__" in SPEC
    assert re.search(r'"LSUIElement":\s*True', SPEC)
    assert "bundle_identifier=BUNDLE_ID" in SPEC
    assert re.search(
        r'"keyring\.backends\.(Windows|macOS|SecretService|kwallet|chainer|fail)"', SPEC
    )


def test_uninstall_removes_every_start_at_login_value_of_every_profile() -> None:
    """ui/autostart.py names them FieldSync (default profile) and FieldSync-<profile>."""
    assert entry_name("site-b") == f"{define('RunValue')}-site-b"
    delete = pascal("DeleteRunValuesIn")
    assert "RegGetValueNames(RootKey, '{#RunKey}'" in delete
    assert "CompareText(Names[I], '{#RunValue}') = 0" in delete
    assert "Copy(Names[I], 1, Length('{#RunValue}-')), '{#RunValue}-'" in delete
    assert "RegDeleteValue(RootKey, '{#RunKey}', Names[I])" in delete
    roots = pascal("DeleteRunValues")
    assert "DeleteRunValuesIn(HKEY_CURRENT_USER);" in roots
    machine = roots.split("if IsAdminInstallMode() then", 1)
    assert len(machine) == 2 and "DeleteRunValuesIn(HKEY_LOCAL_MACHINE);" in machine[1]
    uninstall = pascal("CurUninstallStepChanged")
    assert uninstall.index("DeleteRunValues();") < uninstall.index("if not DirExists(")


def test_a_silent_install_takes_the_administrators_policy_file_or_stops() -> None:
    assert "ExpandConstant('{param:POLICY|}')" in pascal("PolicySource")
    assert "ExpandConstant('{commonappdata}\\FieldSync\\policy.json')" in pascal("PolicyTarget")
    prepare = pascal("PrepareToInstall")  # before any file is installed; a message stops setup
    assert "if (PolicySource() <> '') and not FileExists(PolicySource()) then" in prepare
    # A copy over an existing file would keep the owner of whoever made that file.
    replaced = prepare.index("if FileExists(PolicyTarget()) and not DeleteFile(PolicyTarget())")
    assert replaced < prepare.index("FileCopy(PolicySource(), PolicyTarget(), False)")
    # nothing to do, not for all users, missing file, unsecured folder, not replaced, no copy
    assert prepare.count("Result := '") == 6


def test_every_administrative_install_takes_the_policy_folder_for_administrators() -> None:
    """ProgramData lets users create folders and files, and their maker owns them: the folder
    is given to Administrators and its inherited permissions replaced, with or without /POLICY,
    before any policy is copied; a standard user's install never touches it."""
    prepare = pascal("PrepareToInstall")
    refused = prepare.index("if (PolicySource() <> '') and not IsAdminInstallMode() then")
    assert "run setup as an administrator with /ALLUSERS" in prepare[refused:]
    per_user_stops = prepare.index("if not IsAdminInstallMode() then\n    Exit;")
    secured = prepare.index("if not ForceDirectories(Dir) or not SecurePolicyFolder(Dir) then")
    without_policy_stops = prepare.index("if PolicySource() = '' then\n    Exit;")
    assert refused < per_user_stops < secured < without_policy_stops < prepare.index("FileCopy(")
    secure = pascal("SecurePolicyFolder")
    commands = re.findall(
        r"Exec\(ExpandConstant\('\{sys\}\\icacls\.exe'\), (.*?),\s*''", secure, re.S
    )
    arguments = [" ".join(re.findall(r"'([^']*)'", c)).replace('"', "") for c in commands]
    assert [a.split() for a in arguments] == [
        ["/setowner", "*S-1-5-32-544", "/C", "/Q"],
        [
            "/inheritance:r",
            "/grant:r",
            "*S-1-5-18:(OI)(CI)F",
            "*S-1-5-32-544:(OI)(CI)F",
            "*S-1-5-32-545:(OI)(CI)RX",
            "/C",
            "/Q",
        ],
    ]
    assert secure.count("(ResultCode = 0)") == 2, "a failing icacls stops the install"
    assert "Permissions:" not in ISS, "a Permissions grant only adds to what a user may own"


def test_the_release_smoke_tests_the_installer_before_publishing_it() -> None:
    """pwsh is not here: what the workflow runs, and in what order, is checked instead."""
    release = (ROOT / ".github" / "workflows" / "release.yml").read_text(encoding="utf-8")
    windows_job = release.split("\n  windows:\n", 1)[1].split("\n  macos:\n", 1)[0]
    smoke = windows_job.index(
        '& packaging/windows/smoke_test.ps1 "dist/installer/FieldSync-$env:VERSION-setup.exe"'
    )
    assert windows_job.index("name: Sign the installer") < smoke
    assert smoke < windows_job.index("actions/upload-artifact@"), (
        "a failing smoke test publishes nothing"
    )
    script = (ROOT / "packaging" / "windows" / "smoke_test.ps1").read_text(encoding="utf-8")
    assert "$ErrorActionPreference = 'Stop'" in script
    order = [
        "Join-Path $env:LOCALAPPDATA 'Programs\\FieldSync'",
        "@('/VERYSILENT', '/SUPPRESSMSGBOXES', '/NORESTART')",
        "'/TASKS=startatlogin'",
        "if ($install.ExitCode -ne 0)",
        'if ($runValue -ne "`"$window`"")',
        "& $cli --self-test",
        "if ($LASTEXITCODE -ne 0)",
        "$app = Start-Process -FilePath $window -PassThru",
        "if ($app.HasExited)",
        "New-ItemProperty -LiteralPath $runKey -Name 'FieldSync-smoke'",
        "Join-Path $dir 'unins000.exe'",
        # While it runs: the uninstall must fail and leave the program, running, in place.
        "$refused = Start-Process -FilePath $uninstaller",
        "if ($refused.ExitCode -eq 0)",
        "foreach ($file in @($window, $cli, $uninstaller))",
        "if ($app.HasExited)",
        "if ((Get-FieldSyncRunValues).Count -ne 2)",
        # Then stopped, and uninstalled for good.
        "Stop-Process -Id $app.Id -Force",
        "$uninstall = Start-Process -FilePath $uninstaller",
        "if ($uninstall.ExitCode -ne 0)",
        "if ($left.Count -gt 0)",
    ]
    at = [
        script.index(step, script.index(order[i - 1]) if i else 0) for i, step in enumerate(order)
    ]
    assert at == sorted(at), (
        "install, check, self-test, start, refused uninstall, stop, uninstall, check: in order"
    )
    assert f"$runKey = 'HKCU:\\{RUN_KEY}'" in script
    assert "$_ -eq 'FieldSync' -or $_ -like 'FieldSync-*'" in script
