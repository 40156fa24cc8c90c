# Sign Windows executables with the code-signing certificate in the environment, when there is one.
#
#   pwsh packaging/windows/sign.ps1 dist\FieldSync\FieldSync.exe dist\FieldSync\FieldSync-cli.exe
#
# WINDOWS_CERT_PFX_BASE64 (base64 of the .pfx) and WINDOWS_CERT_PASSWORD come from repository
# secrets; WINDOWS_TIMESTAMP_URL names the RFC 3161 timestamp server (default: DigiCert's).
# Without the certificate nothing is signed and the step says so: the build is then unsigned and
# Windows SmartScreen warns on first start (see the README). Any failure stops with exit code 1.
$ErrorActionPreference = 'Stop'

if (-not $env:WINDOWS_CERT_PFX_BASE64 -or -not $env:WINDOWS_CERT_PASSWORD) {
    Write-Output "signing skipped: WINDOWS_CERT_PFX_BASE64 / WINDOWS_CERT_PASSWORD are not set"
    exit 0
}
if ($args.Count -eq 0) { throw 'name the files to sign' }

# signtool comes with the Windows SDK; take the newest x64 build installed.
$kits = Join-Path ${env:ProgramFiles(x86)} 'Windows Kits\10\bin'
$signtool = Get-ChildItem -Path $kits -Filter signtool.exe -Recurse -ErrorAction SilentlyContinue |
    Where-Object { $_.Directory.Name -eq 'x64' } |
    Sort-Object { [version]$_.Directory.Parent.Name } -ErrorAction SilentlyContinue |
    Select-Object -Last 1
if (-not $signtool) { throw "signtool.exe not found under $kits" }

$timestamp = if ($env:WINDOWS_TIMESTAMP_URL) { $env:WINDOWS_TIMESTAMP_URL } else { 'http://timestamp.digicert.com' }
$pfx = Join-Path ([IO.Path]::GetTempPath()) ("fieldsync-{0}.pfx" -f [guid]::NewGuid())
try {
    [IO.File]::WriteAllBytes($pfx, [Convert]::FromBase64String($env:WINDOWS_CERT_PFX_BASE64))
    foreach ($file in $args) {
        & $signtool.FullName sign /fd SHA256 /td SHA256 /tr $timestamp /f $pfx /p $env:WINDOWS_CERT_PASSWORD $file
        if ($LASTEXITCODE -ne 0) { throw "signtool could not sign $file (exit $LASTEXITCODE)" }
        & $signtool.FullName verify /pa $file
        if ($LASTEXITCODE -ne 0) { throw "the signature of $file does not verify" }
    }
}
finally {
    Remove-Item -LiteralPath $pfx -Force -ErrorAction SilentlyContinue
}
