"""Check, inside an image, that every served model records the commit it was built from.

Run it in the container, fed on standard input (the image holds no ci/ directory):

    docker exec -i CONTAINER python - SHA < ci/manifest_git_sha.py

Reads every `$MODEL_DIR/<asset>/manifest.json` and exits 1 unless each has `git_sha` == SHA.
Standard library only, for the image's own Python.
"""

import json
import os
import sys
from pathlib import Path


def main(expected: str) -> int:
    manifests = sorted(Path(os.environ.get("MODEL_DIR", "artifacts")).glob("*/manifest.json"))
    if not manifests:
        print(f"git_sha: no manifest under {os.environ.get('MODEL_DIR')}", file=sys.stderr)
        return 1
    wrong = 0
    for path in manifests:
        recorded = json.loads(path.read_text()).get("git_sha")
        if recorded != expected:
            wrong += 1
            print(f"git_sha: {path} records {recorded!r}, not {expected!r}", file=sys.stderr)
        else:
            print(f"git_sha: {path.parent.name} records {recorded}")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
