"""A duration as people write it: `4h30m`, `90m`, `600s`."""

from __future__ import annotations

import re


class Duration(float):
    """Seconds, written as a duration: `4h30m`, `90m`, `600s` or `600` (seconds), more than 0."""

    UNITS = (3600.0, 60.0, 1.0)  # the pattern's groups: hours, minutes, seconds
    PATTERN = re.compile(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s?)?")

    def __new__(cls, text: str | float) -> Duration:
        if isinstance(text, int | float):
            seconds = float(text)
        else:
            found = cls.PATTERN.fullmatch(text.strip().lower())
            if found is None or not any(found.groups()):
                raise ValueError(f"not a duration (4h30m, 90m, 600s): {text!r}")
            seconds = sum(
                float(part) * unit
                for part, unit in zip(found.groups(), cls.UNITS, strict=True)
                if part
            )
        if not 0 < seconds < float("inf"):
            raise ValueError(f"a duration must be more than 0: {text!r}")
        return super().__new__(cls, seconds)

    def __str__(self) -> str:
        hours, rest = divmod(round(float(self)), 3600)
        minutes, seconds = divmod(rest, 60)
        text = "".join(f"{n}{u}" for n, u in ((hours, "h"), (minutes, "m"), (seconds, "s")) if n)
        return text or f"{float(self):g}s"
