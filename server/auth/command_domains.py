"""The token file's `command_domains`: which domains may run free `command:` steps.

    tokens: [...]
    command_domains: [alice, lab]   # besides --command-domains; operators always may

Read apart from the tokens themselves: the list is about what a domain may run, not who
a caller is.
"""

from __future__ import annotations

from pathlib import Path

import yaml


def load_command_domains(path: Path) -> frozenset[str]:
    """The `command_domains` list of a token file (empty when absent). A malformed entry
    raises ValueError naming it."""
    try:
        document = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise ValueError(f"{path}: not valid YAML: {error}") from error
    listed = document.get("command_domains") if isinstance(document, dict) else None
    if listed is None:
        return frozenset()
    if not isinstance(listed, list) or not all(isinstance(d, str) and d for d in listed):
        raise ValueError(f"{path}: 'command_domains' must be a list of domain names")
    return frozenset(listed)
