"""Print, inside an image, the pairs it holds a model for: `docker exec -i C python - < ...`.

One comma-separated line of the `$MODEL_DIR/<pair>/manifest.json` directory names, which
`python -m ci.smoke_http --assets` then checks are all served. Standard library only, for the
image's own Python (the image holds no ci/ directory).
"""

import os
import sys
from pathlib import Path

held = sorted(
    path.parent.name
    for path in Path(os.environ.get("MODEL_DIR", "artifacts")).glob("*/manifest.json")
)
if not held:
    sys.exit(f"no model under {os.environ.get('MODEL_DIR', 'artifacts')}")
print(",".join(held))
