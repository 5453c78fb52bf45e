"""The served configuration but its damping, which the panel chooses (`panel_choice.py`)."""

from __future__ import annotations

from cryptopredict.artifact.schema import ModelConfig

DEFAULT = ModelConfig(name="default")
