"""The track record's formats: the one this code writes, and every one it reads. Nothing else, so
the release's version job reads them with no package installed (`tools/release/previous.py`)."""

RECORD_VERSION = 3  # the format `record.py` writes
READS = (1, 2, 3)  # every record_version a release wrote, each read by this code
