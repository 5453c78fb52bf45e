"""The configuration page's tables: every setting by section, with who reads it."""

from __future__ import annotations

from cryptopredict.config import PROCESSES, SECTIONS, Section, variables
from cryptopredict.training.tasks import FetchSettings


def readers(section: type[Section]) -> list[str]:
    names = [name for name, process in PROCESSES.items() if issubclass(process, section)]
    return names + ["Dask workers (sent by the client)"] * issubclass(FetchSettings, section)


def settings_table() -> str:
    parts = []
    for section in SECTIONS:
        rows = [
            f"### {section.__name__}",
            "",
            f"{' '.join((section.__doc__ or '').split())} Read by: {', '.join(readers(section))}.",
            "",
            "| Variable | Default | Meaning |",
            "|---|---|---|",
        ]
        for each in variables(section).values():
            default = "unset" if each.default is None else f"`{each.default}`"
            rows.append(f"| `{each.env}` | {default} | {each.meta.description} |")
        parts.append("\n".join(rows))
    return "\n\n".join(parts)


if __name__ == "__main__":
    print(settings_table())
