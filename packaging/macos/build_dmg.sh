#!/usr/bin/env bash
# Build FieldSync.app and FieldSync-<version>.dmg on macOS; sign and notarize when secrets exist.
#
#   packaging/macos/build_dmg.sh            (from anywhere; uses .venv/bin/python if present)
#
# Signing runs only when all of these are set (CI passes them from repository secrets):
#   MACOS_CERT_P12_BASE64  base64 of the "Developer ID Application" certificate (.p12)
#   MACOS_CERT_PASSWORD    its password
# Notarization additionally needs:
#   APPLE_ID, APPLE_TEAM_ID, APPLE_APP_PASSWORD (an app-specific password)
# Without them the app and dmg are built unsigned (PyInstaller signs ad hoc) and the skipped
# steps say so. The result is dist/FieldSync-<version>-<arch>.dmg.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
[ -x "$PY" ] || PY="$(command -v python3)"
VERSION="$("$PY" -c 'import agent; print(agent.__version__)')"
APP="dist/FieldSync.app"
DMG="dist/FieldSync-${VERSION}-$(uname -m).dmg"
KEYCHAIN=""

say() { printf '==> %s\n' "$*"; }

cleanup() {
  if [ -n "$KEYCHAIN" ]; then
    security delete-keychain "$KEYCHAIN" 2>/dev/null || true
  fi
}
trap cleanup EXIT

if [ "$(uname -s)" != "Darwin" ]; then
  echo "build_dmg.sh runs on macOS only (hdiutil, codesign, notarytool)" >&2
  exit 2
fi

# -- 1. signing identity (optional) ------------------------------------------------------------
IDENTITY=""
if [ -n "${MACOS_CERT_P12_BASE64:-}" ] && [ -n "${MACOS_CERT_PASSWORD:-}" ]; then
  say "importing the signing certificate into a temporary keychain"
  KEYCHAIN="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/fieldsync-signing.keychain-db"
  KEYCHAIN_PASSWORD="$(uuidgen)"
  CERT_DIR="$(mktemp -d -t fieldsync-cert)"
  CERT="$CERT_DIR/developer-id.p12"
  printf '%s' "$MACOS_CERT_P12_BASE64" | base64 --decode > "$CERT"
  security create-keychain -p "$KEYCHAIN_PASSWORD" "$KEYCHAIN"
  security set-keychain-settings -lut 21600 "$KEYCHAIN"
  security unlock-keychain -p "$KEYCHAIN_PASSWORD" "$KEYCHAIN"
  security import "$CERT" -P "$MACOS_CERT_PASSWORD" -A -t cert -f pkcs12 -k "$KEYCHAIN"
  rm -rf "$CERT_DIR"
  security set-key-partition-list -S apple-tool:,apple: -s -k "$KEYCHAIN_PASSWORD" "$KEYCHAIN" >/dev/null
  # Put it first in the search list so codesign finds the identity (one quoted path a line).
  KEYCHAINS=()
  while IFS= read -r line; do
    line="${line#"${line%%[![:space:]]*}"}"
    line="${line#\"}"
    KEYCHAINS+=("${line%\"}")
  done < <(security list-keychains -d user)
  security list-keychains -d user -s "$KEYCHAIN" "${KEYCHAINS[@]}"
  IDENTITY="$(security find-identity -v -p codesigning "$KEYCHAIN" \
    | awk -F'"' '/Developer ID Application/ {print $2; exit}')"
  if [ -z "$IDENTITY" ]; then
    echo "no 'Developer ID Application' identity in the certificate" >&2
    exit 1
  fi
  say "signing as: $IDENTITY"
else
  say "signing skipped: MACOS_CERT_P12_BASE64 / MACOS_CERT_PASSWORD are not set (ad-hoc signature)"
fi

# -- 2. icons and the app bundle ----------------------------------------------------------------
say "rendering icons"
"$PY" packaging/make_icons.py
say "building $APP (PyInstaller)"
rm -rf "$APP" dist/FieldSync
# The spec signs every binary and the bundle with the hardened runtime when given an identity.
MACOS_CODESIGN_IDENTITY="$IDENTITY" "$PY" -m PyInstaller packaging/fieldsync.spec \
  --noconfirm --distpath dist --workpath build/pyinstaller

say "checking the bundle"
/usr/libexec/PlistBuddy -c 'Print :LSUIElement' "$APP/Contents/Info.plist" | grep -q true
"$PY" tests/packaging/check_frozen.py --dist dist
# Every library and executable in the bundle must load on the floor its Info.plist states.
"$PY" packaging/macos/binary_floor.py "$APP"
if [ -n "$IDENTITY" ]; then
  codesign --verify --deep --strict --verbose=2 "$APP"
fi

# -- 3. the disk image --------------------------------------------------------------------------
say "creating $DMG"
STAGE="$(mktemp -d -t fieldsync-dmg)"
cp -R "$APP" "$STAGE/"
ln -s /Applications "$STAGE/Applications"
rm -f "$DMG"
# hdiutil now and then fails with "Resource busy" on build machines: try a few times.
for attempt in 1 2 3; do
  if hdiutil create -volname "Field Sync ${VERSION}" -srcfolder "$STAGE" -ov -format UDZO "$DMG"; then
    break
  fi
  [ "$attempt" = 3 ] && exit 1
  say "hdiutil failed (attempt $attempt); retrying"
  sleep 5
done
rm -rf "$STAGE"
if [ -n "$IDENTITY" ]; then
  codesign --force --timestamp --sign "$IDENTITY" "$DMG"
fi

# -- 4. notarization (optional) -----------------------------------------------------------------
if [ -n "$IDENTITY" ] && [ -n "${APPLE_ID:-}" ] && [ -n "${APPLE_TEAM_ID:-}" ] \
  && [ -n "${APPLE_APP_PASSWORD:-}" ]; then
  say "notarizing $DMG (this waits for Apple)"
  xcrun notarytool submit "$DMG" --apple-id "$APPLE_ID" --team-id "$APPLE_TEAM_ID" \
    --password "$APPLE_APP_PASSWORD" --wait --timeout 30m
  xcrun stapler staple "$DMG"
  xcrun stapler validate "$DMG"
  spctl --assess --type open --context context:primary-signature --verbose=2 "$DMG" || true
else
  say "notarization skipped: needs signing plus APPLE_ID, APPLE_TEAM_ID and APPLE_APP_PASSWORD"
fi

say "done: $DMG ($(du -h "$DMG" | cut -f1))"
