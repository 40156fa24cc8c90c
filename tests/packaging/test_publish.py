"""packaging/release/publish.sh against a stand-in `gh` that keeps releases in a JSON file: a
first run creates the release, a re-run adds to it, and the notes name the missing images."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "packaging" / "release" / "publish.sh"
TAG = "v1.2.3"
GENERATED = "## What's Changed\n* Sync notes offline by @dev"

FAKE_GH = r"""
import json, os, sys
from pathlib import Path

state_file = Path(os.environ["FAKE_GH_STATE"])
state = json.loads(state_file.read_text())
state["calls"].append(sys.argv[1:])
args = sys.argv[1:]
assert args[:1] == ["release"], args
verb, tag, rest = args[1], args[2], args[3:]
assert rest[rest.index("--repo") + 1] == os.environ["GITHUB_REPOSITORY"]
releases = state["releases"]

def save():
    state_file.write_text(json.dumps(state))

def files():
    return [a for a in rest if not a.startswith("-") and os.path.isfile(a)]

if verb == "view":
    save()
    if tag not in releases:
        print(f"release not found", file=sys.stderr)
        sys.exit(1)
    field = rest[rest.index("--json") + 1]
    release = releases[tag]
    if field == "assets":
        print("\n".join(release["assets"]))
    elif field == "body":
        print(release["body"])
    sys.exit(0)
if verb == "create":
    if tag in releases:
        save()
        print("a release with the same tag name already exists", file=sys.stderr)
        sys.exit(1)
    body = os.environ["FAKE_GH_GENERATED"] if "--generate-notes" in rest else ""
    releases[tag] = {"assets": sorted(Path(f).name for f in files()), "body": body}
elif verb == "upload":
    names = sorted(Path(f).name for f in files())
    release = releases[tag]
    if "--clobber" not in rest and set(names) & set(release["assets"]):
        save()
        sys.exit(1)
    release["assets"] = sorted(set(release["assets"]) | set(names))
elif verb == "edit":
    assert rest[rest.index("--notes-file") + 1] == "-"
    releases[tag]["body"] = sys.stdin.read().rstrip("\n")
else:
    sys.exit(f"unexpected: {args}")
save()
"""


@pytest.fixture
def gh(tmp_path: Path) -> dict[str, Any]:
    """A `gh` on PATH that keeps its releases in state.json; returns how to run the script."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "gh"
    fake.write_text(f"#!{sys.executable}\n{FAKE_GH}", encoding="utf-8")
    fake.chmod(0o755)
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"calls": [], "releases": {}}))
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "FAKE_GH_STATE": str(state),
        "FAKE_GH_GENERATED": GENERATED,
        "GITHUB_REPOSITORY": "fieldsync/field-sync",
    }
    return {"env": env, "state": state}


def artifacts(tmp_path: Path, *archs: str, name: str = "artifacts") -> Path:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "FieldSync-1.2.3-setup.exe").write_bytes(b"MZ")
    for arch in archs:
        (folder / f"FieldSync-1.2.3-{arch}.dmg").write_bytes(b"dmg")
    return folder


def publish(gh: dict[str, Any], folder: Path, tag: str = TAG) -> dict[str, Any]:
    done = subprocess.run(
        ["bash", str(SCRIPT), tag, str(folder)],
        env=gh["env"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    state: dict[str, Any] = json.loads(gh["state"].read_text())
    return state


pytestmark = pytest.mark.skipif(
    shutil.which("bash") is None or sys.platform == "win32", reason="needs bash and a POSIX PATH"
)


def test_a_first_run_with_every_installer_creates_the_release_with_generated_notes(
    gh: dict[str, Any], tmp_path: Path
) -> None:
    state = publish(gh, artifacts(tmp_path, "arm64", "x86_64"))
    release = state["releases"][TAG]
    assert release["assets"] == [
        "FieldSync-1.2.3-arm64.dmg",
        "FieldSync-1.2.3-setup.exe",
        "FieldSync-1.2.3-x86_64.dmg",
    ]
    assert release["body"] == GENERATED
    assert not any(call[1] in ("upload", "edit") for call in state["calls"])


def test_an_image_that_failed_alone_is_named_in_the_notes(
    gh: dict[str, Any], tmp_path: Path
) -> None:
    state = publish(gh, artifacts(tmp_path, "arm64"))
    body = state["releases"][TAG]["body"]
    first, _, rest = body.partition("\n\n")
    assert first == (
        "The macOS disk images for x86_64 are missing from this release: "
        "their build did not succeed."
    )
    assert rest == GENERATED


def test_a_re_run_adds_the_missing_image_to_the_existing_release_and_clears_the_note(
    gh: dict[str, Any], tmp_path: Path
) -> None:
    publish(gh, artifacts(tmp_path, name="first"))
    body = json.loads(gh["state"].read_text())["releases"][TAG]["body"]
    assert body.startswith("The macOS disk images for arm64 and x86_64 are missing")
    state = publish(gh, artifacts(tmp_path, "arm64", "x86_64", name="second"))
    changes = [c[1] for c in state["calls"] if c[1] != "view"]
    assert changes == ["create", "edit", "upload", "edit"]
    upload = next(c for c in state["calls"] if c[1] == "upload")
    assert "--clobber" in upload, "the installer uploaded the first time is replaced"
    release = state["releases"][TAG]
    assert len(release["assets"]) == 3
    assert release["body"] == GENERATED


def test_a_re_run_that_still_lacks_an_image_says_which_one(
    gh: dict[str, Any], tmp_path: Path
) -> None:
    publish(gh, artifacts(tmp_path, name="first"))
    state = publish(gh, artifacts(tmp_path, "x86_64", name="second"))
    body = state["releases"][TAG]["body"]
    assert body.count("The macOS disk images for") == 1
    assert body.startswith("The macOS disk images for arm64 are missing")
    assert body.endswith(GENERATED)


@pytest.mark.parametrize(
    ("tag", "prerelease"),
    [("v1.2.3", False), ("v1.2.3rc1", True), ("v1.2.3b2", True), ("v2.0.0.dev1", True)],
)
def test_a_pre_release_version_is_published_as_a_pre_release(
    gh: dict[str, Any], tmp_path: Path, tag: str, prerelease: bool
) -> None:
    state = publish(gh, artifacts(tmp_path, "arm64", "x86_64"), tag)
    create = next(c for c in state["calls"] if c[1] == "create")
    assert create[2] == tag
    assert ("--prerelease" in create) is prerelease


def test_notes_edited_with_windows_line_endings_are_kept_without_them(
    gh: dict[str, Any], tmp_path: Path
) -> None:
    edited = "Read this first.\r\n\r\n## What's Changed\r\n* Sync notes offline"
    missing = "The macOS disk images for arm64 are missing from this release: a."
    state = json.loads(gh["state"].read_text())
    state["releases"][TAG] = {
        "assets": ["FieldSync-1.2.3-setup.exe"],
        "body": f"{missing}\r\n\r\n{edited}",
    }
    gh["state"].write_text(json.dumps(state))
    state = publish(gh, artifacts(tmp_path, "arm64", "x86_64"))
    assert state["releases"][TAG]["body"] == edited.replace("\r", "")


def test_nothing_to_publish_stops_before_touching_the_release(
    gh: dict[str, Any], tmp_path: Path
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    done = subprocess.run(
        ["bash", str(SCRIPT), TAG, str(empty)],
        env=gh["env"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1 and "nothing to publish" in done.stderr
    assert json.loads(gh["state"].read_text())["calls"] == []


def test_the_release_workflow_publishes_through_the_script() -> None:
    release = (ROOT / ".github" / "workflows" / "release.yml").read_text(encoding="utf-8")
    publish_job = release.split("\n  publish:\n", 1)[1]
    assert 'run: packaging/release/publish.sh "$GITHUB_REF_NAME" artifacts' in publish_job
    assert publish_job.index("actions/checkout@") < publish_job.index("actions/download-artifact@")
    assert "gh release create" not in release, "only the script creates the release"
    assert os.access(SCRIPT, os.X_OK)
