"""What the training cache assumes: training (the client's command line and the steps its
workers run) never imports the collector, so its files are left out of the key
(`training.NOT_READ_BY_TRAINING`); the API's are in it (the track record issues the forecast as
the API answers it)."""

from __future__ import annotations

from tests.e2e.training import NOT_READ_BY_TRAINING, training_key
from tests.imports import python_prints

IMPORTS = """
import sys
import cryptopredict.training.cli
import cryptopredict.training.steps
print("\\n".join(sorted(sys.modules)))
"""


def test_training_imports_none_of_what_the_key_leaves_out():
    modules = python_prints(IMPORTS).split()
    assert "cryptopredict.model.build" in modules
    excluded = {path.replace("/", ".") for path in NOT_READ_BY_TRAINING}
    assert not [name for name in modules if name.startswith(tuple(excluded))]
    # tools/ (the report writer, the peer comparison, the release tooling) is not in the key.
    assert not [name for name in modules if name == "tools" or name.startswith("tools.")]


def test_the_key_changes_with_what_training_reads(tmp_path):
    for name in ("cryptopredict/model", "cryptopredict/collect", "data"):
        (tmp_path / name).mkdir(parents=True)
    for name in ("train.py", "requirements-train.txt", "requirements-api.txt"):
        (tmp_path / name).write_text("")
    (tmp_path / "cryptopredict/model/build.py").write_text("A = 1\n")
    (tmp_path / "data/btc-usd-1h.csv.gz").write_bytes(b"1")
    key = training_key(tmp_path)
    (tmp_path / "cryptopredict/collect/stream.py").write_text("changed\n")
    assert training_key(tmp_path) == key
    (tmp_path / "data/btc-usd-1h.csv.gz").write_bytes(b"2")
    assert training_key(tmp_path) != key
    key = training_key(tmp_path)
    (tmp_path / "cryptopredict/model/build.py").write_text("A = 2\n")
    assert training_key(tmp_path) != key
