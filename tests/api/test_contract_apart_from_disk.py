"""Issue 63, bar 3: the HTTP answers are declared for themselves, nested parts included, so a
copy of the package whose every disk type (each msgspec Struct of `cryptopredict/artifact/`)
names every field otherwise in its files serves the same `/openapi.json`, and the same model
cards and backtests, from artifacts it wrote itself."""

from __future__ import annotations

import re

import pytest

from tests.api.package_copy import copy_package, printed
from tests.paths import ROOT

pytestmark = pytest.mark.slow

# Artifacts written by the package at PYTHONPATH, then what it serves of them, and the names
# its disk types give their fields in files.
SERVED = """
import importlib, inspect, json, pkgutil, sys
from pathlib import Path
import msgspec
from msgspec import Struct
import cryptopredict.artifact
from cryptopredict.api.app import create_app
from cryptopredict.artifact.store import open_artifacts
from cryptopredict.config import ApiSettings
from tests.api.synthetic import BTC, ETH, write_synthetic

out = Path(sys.argv[1])
write_synthetic(out, BTC)
write_synthetic(out, ETH, backtest=False)
client = create_app(open_artifacts(out), ApiSettings.from_env()).test_client()
paths = ["/openapi.json", "/model/btc-usd", "/model/btc-usd/backtest", "/model/eth-usd"]
fields = {}
for module in pkgutil.iter_modules(cryptopredict.artifact.__path__):
    found = importlib.import_module(f"cryptopredict.artifact.{module.name}")
    structs = inspect.getmembers(found, lambda c: isinstance(c, type) and issubclass(c, Struct))
    for name, cls in structs:
        if cls.__module__ == found.__name__:
            fields[f"{module.name}.{name}"] = {
                f.name: f.encode_name for f in msgspec.structs.fields(cls)
            }
print(json.dumps({
    "fields": fields,
    "answers": {path: client.get(path).get_json() for path in paths},
}))
"""
STRUCT = re.compile(r"^(class \w+\(msgspec\.Struct)(?=[,)])", re.MULTILINE)
ON_DISK = r'\1, rename=lambda name: f"disk_{name}"'


def _without_files(card: dict) -> dict:
    """A model card but its files' digests, which the bytes on disk make."""
    return {key: value for key, value in card.items() if key != "files"}


def test_renaming_every_field_of_every_disk_type_leaves_the_contract_as_it_was(tmp_path):
    copy = copy_package(tmp_path)
    for module in (copy / "cryptopredict" / "artifact").glob("*.py"):
        module.write_text(STRUCT.sub(ON_DISK, module.read_text()))

    before = printed(SERVED, ROOT, tmp_path, "original")
    after = printed(SERVED, copy, tmp_path, "renamed")
    assert before["fields"].keys() == after["fields"].keys()
    assert {"schema.Manifest", "schema.ForecastScores", "record_rows.IssueHead"} <= before[
        "fields"
    ].keys()
    for struct, names in before["fields"].items():
        for field, encoded in names.items():
            renamed = f"disk_{field}" if encoded == field else encoded  # `name=` keeps its own
            assert after["fields"][struct][field] == renamed, (struct, field)
    assert after["answers"]["/openapi.json"] == before["answers"]["/openapi.json"]
    for path in ("/model/btc-usd", "/model/eth-usd"):
        assert _without_files(after["answers"][path]) == _without_files(before["answers"][path])
    assert (
        after["answers"]["/model/btc-usd/backtest"] == before["answers"]["/model/btc-usd/backtest"]
    )
