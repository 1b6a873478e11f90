"""Key pairs: made on the local cloud, private key 0600, never overwritten, never printed."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

from test_errors import one_error_line


def test_create_list_delete(cli, home):
    created = cli("keypair", "create", "HirakeGoma")
    assert created.code == 0, created.err
    key = home / "ssh" / "HirakeGoma.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert "PRIVATE KEY" in key.read_text()
    assert "PRIVATE KEY" not in created.out + created.err
    listed = {p["name"]: p for p in cli("keypair", "list", "--json").json()}
    assert listed["HirakeGoma"]["private_key"] == str(key)
    assert listed["HirakeGoma"]["created_by_introaws"] is True
    # The key is a real OpenSSH-usable key: ssh-keygen derives its public half.
    public = subprocess.run(["ssh-keygen", "-y", "-f", str(key)], capture_output=True, text=True)
    if public.returncode == 0:
        assert public.stdout.startswith("ssh-ed25519 ")

    again = cli("keypair", "create", "HirakeGoma")
    assert "already exists" in one_error_line(again)

    deleted = cli("keypair", "delete", "HirakeGoma", "--yes")
    assert deleted.code == 0, deleted.err
    assert not key.exists()
    assert "HirakeGoma" not in {p["name"] for p in cli("keypair", "list", "--json").json()}


def test_existing_file_is_never_overwritten(cli, home):
    folder = home / "ssh-existing"
    folder.mkdir()
    (folder / "Taken.pem").write_text("precious")
    line = one_error_line(cli("keypair", "create", "Taken", "--dir", str(folder)))
    assert "never overwrites" in line
    assert (folder / "Taken.pem").read_text() == "precious"
    assert "Taken" not in {p["name"] for p in cli("keypair", "list", "--json").json()}


def test_unwritable_dir_creates_nothing(cli, home):
    blocker = home / "a-file"
    blocker.write_text("not a folder")
    line = one_error_line(cli("keypair", "create", "Nowhere", "--dir", str(blocker / "keys")))
    assert "--dir" in line
    assert "Nowhere" not in {p["name"] for p in cli("keypair", "list", "--json").json()}


def test_rsa_and_import(cli, home, tmp_path: Path):
    assert cli("keypair", "create", "RsaKey", "--type", "rsa").code == 0
    assert (
        "RSA" in (home / "ssh" / "RsaKey.pem").read_text() or "PRIVATE KEY" in (home / "ssh" / "RsaKey.pem").read_text()
    )
    pub = tmp_path / "id.pub"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "id")], check=True)
    imported = cli("keypair", "import", "Imported", str(pub))
    assert imported.code == 0, imported.err
    names = {p["name"]: p for p in cli("keypair", "list", "--json").json()}
    assert names["Imported"]["private_key"] is None
    assert "private key" in one_error_line(cli("keypair", "import", "Bad", str(tmp_path / "id")))
    for name in ("RsaKey", "Imported"):
        assert cli("keypair", "delete", name, "--yes").code == 0


def test_unknown_type(cli):
    assert "--type" in one_error_line(cli("keypair", "create", "X", "--type", "dsa"))


def test_a_key_made_with_dir_is_found_and_removed_without_dir(cli, home):
    folder = home / "elsewhere"
    created = cli("keypair", "create", "Elsewhere", "--dir", str(folder))
    assert created.code == 0, created.err
    key = folder / "Elsewhere.pem"
    listed = {p["name"]: p for p in cli("keypair", "list", "--json").json()}
    assert listed["Elsewhere"]["private_key"] == str(key)
    deleted = cli("keypair", "delete", "Elsewhere", "--yes")
    assert deleted.code == 0, deleted.err
    assert not key.exists() and str(key) in deleted.err
    assert "Elsewhere" not in {p["name"] for p in cli("keypair", "list", "--json").json()}
