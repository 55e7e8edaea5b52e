"""What a command's start and end cost, kept down: ``gridclient vm list`` as a process imports no
more than it uses (not Qt, not cffi's C parser for pycryptodome, not boto3's transfer machinery),
and leaves its objects to the exit instead of to the interpreter's last collections. The
encrypted file keyring it unlocks stays the one keyrings.alt reads and writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.cli.test_subprocess import SECRET, gridclient
from tests.qt_free import BLOCK_QT, ROOT

WATCH = ("PySide6", "cffi", "pycparser", "boto3", "s3transfer", "multiprocessing", "Cryptodome.Protocol.KDF")
RUN = BLOCK_QT + f"""
import atexit, gc, json
atexit.register(lambda: sys.stderr.write("\\nMODULES " + json.dumps({{"loaded": [m for m in {WATCH!r} if m in sys.modules],
                                                                     "frozen": gc.get_freeze_count()}}) + "\\n"))
from gridclient.cli import main
sys.exit(main())
"""


def test_listing_instances_imports_only_what_it_uses_and_leaves_its_objects_to_the_exit(tmp_path, moto, boto):
    ws = tmp_path / "ws"
    ec2 = boto("ec2")
    iid = ec2.run_instances(ImageId=ec2.describe_images()["Images"][0]["ImageId"], MinCount=1,
                            MaxCount=1)["Instances"][0]["InstanceId"]
    added = gridclient(ws, "vo", "add", "Lab", "--type", "aws", "--endpoint-url", moto, "--access-key-id",
                       "AKIDTEST", "--secret-stdin", stdin=SECRET + "\n")
    assert added.returncode == 0, added.stderr
    env = {**os.environ, "GRIDCLIENT_MASTER_PASSWORD": "master-pw-for-the-test",
           "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    ran = subprocess.run([sys.executable, "-c", RUN, "--workspace", str(ws), "vm", "list", "--json"], env=env,
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert ran.returncode == 0, ran.stderr
    assert [r["id"] for r in json.loads(ran.stdout)] == [iid]  # the secret was unlocked and used
    said = json.loads(ran.stderr.split("MODULES ", 1)[1])
    assert said["loaded"] == [], said  # the keyring unlocked without cffi; EC2 without boto3
    assert said["frozen"] > 0


def stock_keyring(path, password):
    """keyrings.alt's own EncryptedKeyring, unlocked with ``password`` (pycryptodome's PBKDF2)."""
    from keyrings.alt.file import EncryptedKeyring

    class Stock(EncryptedKeyring):
        def _get_new_password(self):
            return password

        def _unlock(self):
            self.keyring_key = password
            if self.get_password("keyring-setting", "password reference") != "password reference value":
                raise ValueError("Incorrect Password")

    kr = Stock()
    kr.file_path = str(path)
    kr.keyring_key  # noqa: B018 - create or unlock now
    return kr


@pytest.mark.parametrize("password", ["correct horse", "pässwörd ÿ", "x" * 200])
def test_the_encrypted_keyring_is_the_one_keyrings_alt_reads_and_writes(tmp_path, password):
    from gridclient.secrets import WrongMasterPassword, encrypted_file_keyring

    stock_keyring(tmp_path / "a.cfg", password).set_password("gridclient", "vo/secret", "sëcret-ä-😀")
    assert encrypted_file_keyring(tmp_path / "a.cfg", password).get_password("gridclient", "vo/secret") == \
        "sëcret-ä-😀"
    encrypted_file_keyring(tmp_path / "b.cfg", password).set_password("gridclient", "vo/secret", "another-ü")
    assert stock_keyring(tmp_path / "b.cfg", password).get_password("gridclient", "vo/secret") == "another-ü"
    with pytest.raises(WrongMasterPassword):
        encrypted_file_keyring(tmp_path / "b.cfg", password + "!")
    with pytest.raises(Exception):  # noqa: B017 - keyrings.alt's own says so with an AssertionError
        stock_keyring(tmp_path / "a.cfg", password + "!")
