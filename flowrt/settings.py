"""Settings: Node-RED's settings names, from a YAML (or JSON) file plus command-line flags.

Known keys (all optional):
  uiPort (1880), uiHost ("127.0.0.1"), httpNodeRoot ("/"), userDir (~/.flowrt),
  contextStorage, functionGlobalContext, logLevel ("info"), nodesDir (list of dirs),
  nodeCloseTimeout (ms, 15000, as Node-RED), functionTimeout, httpNodeCors, httpMaxBodySize,
  httpNodeResponseTimeout (ms, 120000), logMaxLength (characters, 10000),
  allowUnknown, env (extra env values visible to flows), httpServer (start one: true),
  and the node-specific ones listed in docs/settings.md.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

DEFAULTS: dict[str, Any] = {
    "uiPort": 1880,
    "uiHost": "127.0.0.1",
    "httpNodeRoot": "/",
    "logLevel": "info",
    "nodeCloseTimeout": 15000,
    "httpServer": True,
}


class SettingsError(ValueError):
    pass


class Settings(Mapping):
    """A read-mostly mapping of settings with Node-RED's defaults."""

    def __init__(self, values: Mapping[str, Any] | None = None) -> None:
        self._values: dict[str, Any] = dict(DEFAULTS)
        if values:
            self._values.update(values)

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def get(self, key: str, default: Any = None) -> Any:
        # Mapping.get would raise and catch a KeyError for every unset key: join, delay and batch
        # read nodeMessageBufferMaxLength (unset by default) for every message.
        return self._values.get(key, default)

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def set(self, key: str, value: Any) -> None:
        self._values[key] = value

    @property
    def user_dir(self) -> Path:
        return Path(self._values.get("userDir") or Path.home() / ".flowrt")

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> Settings:
        file = Path(path)
        try:
            text = file.read_text()
        except OSError as err:
            raise SettingsError(f"{file}: cannot read settings: {err.strerror}") from None
        try:
            data = json.loads(text) if file.suffix == ".json" else yaml.safe_load(text)
        except (json.JSONDecodeError, yaml.YAMLError) as err:
            raise SettingsError(f"{file}: invalid settings file: {err}") from None
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise SettingsError(f"{file}: settings must be a mapping of names to values")
        return cls(data)


def parse_define(text: str) -> tuple[str, Any]:
    """`-D key=value` as node-red's CLI: the value is JSON when it parses, else a string."""
    if "=" not in text:
        raise SettingsError(f"-D {text!r}: expected key=value")
    key, raw = text.split("=", 1)
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return key.strip(), value


def set_dotted(values: dict, key: str, value: Any) -> None:
    """Set `a.b.c` style keys (as -D logging.console.level=debug)."""
    parts = key.split(".")
    target = values
    for part in parts[:-1]:
        target = target.setdefault(part, {})
    target[parts[-1]] = value


def close_timeout_s(settings: Mapping[str, Any]) -> float:
    """nodeCloseTimeout in seconds; the setting is in milliseconds as in Node-RED (0 or unset: 15 s)."""
    value = settings.get("nodeCloseTimeout") or 15000
    return float(value) / 1000
