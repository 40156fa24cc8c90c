# Print the path of ISCC.exe (Inno Setup's compiler) of the installed Inno Setup of one version.
#
#   pwsh packaging/windows/find_iscc.ps1 6.4.3
#
# The folder is read from Inno Setup's own uninstall entry (InstallLocation), per machine or per
# user, 64- or 32-bit registry view, so neither the folder's name nor the major version is assumed.
# Stops with exit code 1 when that version is not installed.
$ErrorActionPreference = 'Stop'
$version = $args[0]
if (-not $version) { throw 'name the Inno Setup version, e.g. 6.4.3' }

$entries = @(
    'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\*',
    'HKLM:\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall\*',
    'HKCU:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\*'
)
$inno = Get-ItemProperty -Path $entries -ErrorAction SilentlyContinue |
    Where-Object { $_.PSObject.Properties['DisplayName'] -and $_.DisplayName -like 'Inno Setup*' } |
    Where-Object { $_.PSObject.Properties['DisplayVersion'] -and $_.DisplayVersion -eq $version } |
    Select-Object -First 1
if (-not $inno) { throw "Inno Setup $version is not installed" }
$iscc = Join-Path $inno.InstallLocation 'ISCC.exe'
if (-not (Test-Path -LiteralPath $iscc)) { throw "no ISCC.exe in $($inno.InstallLocation)" }
Write-Output $iscc
