# Install the built installer silently, use the installed program, uninstall it silently, and check
# that nothing of it is left where it runs from (a Windows build machine; the release runs it).
#
#   pwsh packaging/windows/smoke_test.ps1 dist\installer\FieldSync-<version>-setup.exe
#
# Checks: setup with /VERYSILENT /TASKS=startatlogin ends with exit code 0 and writes the Run
# value naming the installed FieldSync.exe; the installed FieldSync-cli.exe passes --self-test;
# FieldSync.exe starts and keeps running; a silent uninstall while it runs stops with a non-zero
# exit code and leaves the program in place (the AppMutex check), and the program keeps running;
# once it is stopped, the silent uninstall removes the program folder and every Run value of
# Field Sync (a second profile's one included). Any failure stops with an error.
$ErrorActionPreference = 'Stop'
$setup = $args[0]
if (-not $setup -or -not (Test-Path -LiteralPath $setup)) { throw "name the setup executable ($setup)" }

$dir = Join-Path $env:LOCALAPPDATA 'Programs\FieldSync'
$runKey = 'HKCU:\Software\Microsoft\Windows\CurrentVersion\Run'
$logs = if ($env:RUNNER_TEMP) { $env:RUNNER_TEMP } else { [IO.Path]::GetTempPath() }
$quiet = @('/VERYSILENT', '/SUPPRESSMSGBOXES', '/NORESTART')

function Get-FieldSyncRunValues {
    $names = @((Get-Item -LiteralPath $runKey).Property)
    return @($names | Where-Object { $_ -eq 'FieldSync' -or $_ -like 'FieldSync-*' })
}

Write-Output "installing $setup"
$installLog = Join-Path $logs 'fieldsync-setup.log'
$arguments = $quiet + @('/TASKS=startatlogin', "/LOG=$installLog")
$install = Start-Process -FilePath $setup -ArgumentList $arguments -Wait -PassThru
if ($install.ExitCode -ne 0) {
    Get-Content -LiteralPath $installLog -ErrorAction SilentlyContinue
    throw "setup ended with exit code $($install.ExitCode)"
}
$window = Join-Path $dir 'FieldSync.exe'
$cli = Join-Path $dir 'FieldSync-cli.exe'
foreach ($exe in @($window, $cli)) {
    if (-not (Test-Path -LiteralPath $exe)) { throw "$exe was not installed" }
}
$runValue = (Get-ItemProperty -LiteralPath $runKey -Name 'FieldSync').FieldSync
if ($runValue -ne "`"$window`"") { throw "the Run value is '$runValue', not the installed FieldSync.exe" }

Write-Output 'self-test of the installed program'
& $cli --self-test
if ($LASTEXITCODE -ne 0) { throw "FieldSync-cli --self-test ended with exit code $LASTEXITCODE" }

Write-Output 'starting FieldSync.exe'
$app = Start-Process -FilePath $window -PassThru
Start-Sleep -Seconds 20
if ($app.HasExited) { throw "FieldSync.exe stopped on its own (exit code $($app.ExitCode))" }

# Another profile's start-at-login value, as the program's own setting writes it.
New-ItemProperty -LiteralPath $runKey -Name 'FieldSync-smoke' -PropertyType String -Force `
    -Value "`"$window`" --profile smoke" | Out-Null

$uninstaller = Join-Path $dir 'unins000.exe'
Write-Output 'uninstalling while FieldSync.exe runs (must stop and change nothing)'
$refusedLog = Join-Path $logs 'fieldsync-uninstall-running.log'
$refused = Start-Process -FilePath $uninstaller -ArgumentList ($quiet + "/LOG=$refusedLog") -Wait -PassThru
if ($refused.ExitCode -eq 0) {
    Get-Content -LiteralPath $refusedLog -ErrorAction SilentlyContinue
    throw 'the uninstaller ended with exit code 0 while FieldSync.exe was running'
}
# Whatever of the uninstaller may still run after its exit code came back has had time to act.
Start-Sleep -Seconds 10
foreach ($file in @($window, $cli, $uninstaller)) {
    if (-not (Test-Path -LiteralPath $file)) { throw "$file was removed by an uninstall that stopped" }
}
if ($app.HasExited) { throw "FieldSync.exe stopped during the refused uninstall (exit code $($app.ExitCode))" }
if ((Get-FieldSyncRunValues).Count -ne 2) { throw 'the refused uninstall removed start-at-login values' }
Write-Output "the uninstaller stopped with exit code $($refused.ExitCode) and left everything in place"

Stop-Process -Id $app.Id -Force
$app.WaitForExit()

Write-Output 'uninstalling'
$uninstallLog = Join-Path $logs 'fieldsync-uninstall.log'
$uninstall = Start-Process -FilePath $uninstaller -ArgumentList ($quiet + "/LOG=$uninstallLog") -Wait -PassThru
if ($uninstall.ExitCode -ne 0) { throw "the uninstaller ended with exit code $($uninstall.ExitCode)" }
# The uninstaller hands over to a copy of itself and returns: wait for that copy's work (files
# first, the Run values last) for up to three minutes.
$deadline = (Get-Date).AddMinutes(3)
while (((Test-Path -LiteralPath $window) -or (Get-FieldSyncRunValues).Count -gt 0) -and
       (Get-Date) -lt $deadline) {
    Start-Sleep -Seconds 1
}
if (Test-Path -LiteralPath $window) {
    Get-Content -LiteralPath $uninstallLog -ErrorAction SilentlyContinue
    throw "FieldSync.exe is still installed after the uninstall"
}
$left = Get-FieldSyncRunValues
if ($left.Count -gt 0) { throw "Run values left after the uninstall: $($left -join ', ')" }
Write-Output 'installed, used and uninstalled cleanly'
