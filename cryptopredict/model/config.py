"""Model configurations (`ModelConfig`, as the manifest records them): the served default (what
`make compare` tries beside it is in `tools/compare.py`)."""

from __future__ import annotations

from cryptopredict.artifact.schema import ModelConfig

# The served configuration but its damping, which the panel chooses (`panel_choice.py`).
DEFAULT = ModelConfig(name="default")
