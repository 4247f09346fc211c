"""Node credentials: kept out of the flow file, in `<flow file stem>_cred.json`, encrypted as Node-RED
encrypts its `flows_cred.json` (runtime/lib/nodes/credentials.js), so the file moves between the two.

The file holds `{"$": <32 hex digits of IV><base64 of the AES-256-CTR ciphertext>}` of the JSON text
of `{node id: {name: value}}`; the key is the SHA-256 of the secret. Which secret, as Node-RED:

- the setting `credentialSecret` (a string): the user's key ("user");
- `credentialSecret: false`: no encryption ("disabled"; the file is plain JSON, mode 0600 all the same);
- no setting: a secret generated once and kept as `_credentialSecret` in `<userDir>/.config.runtime.json`
  ("system"), as Node-RED keeps it. It is generated when the first encrypted file is written.

A generated secret is migrated away once the user sets `credentialSecret` (string or false): the file
is decrypted with the generated one, written with the new one at the next deploy, and the generated
secret is deleted from `.config.runtime.json`. A secret that does not decrypt the file is an error
naming the file; nothing is written then.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

PASSWORD_UNCHANGED = "__PWRD__"
RUNTIME_CONFIG = ".config.runtime.json"
SYSTEM_SECRET = "_credentialSecret"

SYSTEM_KEY_WARNING = (
    "the credentials file {path} is kept encrypted with a secret flowrt generated (in {config}): "
    "if that file is lost, so are the credentials. Set your own `credentialSecret` in the settings; "
    "the next deploy encrypts the file with it."
)


class CredentialsError(ValueError):
    """A credentials file that cannot be read with the configured secret (the message names the file)."""


def credentials_file(flow_file: str | os.PathLike) -> Path:
    path = Path(flow_file)
    return path.with_name(f"{path.stem}_cred.json")


# ---------------------------------------------------------------------- Node-RED's encryption


def key_of(secret: str) -> bytes:
    """The AES-256 key of a secret: the SHA-256 of its UTF-8 bytes, as Node-RED."""
    return hashlib.sha256(secret.encode("utf-8")).digest()


def encrypt(key: bytes, credentials: Mapping[str, Any]) -> dict[str, str]:
    """`{"$": iv hex + base64 ciphertext}` of the credentials' JSON text, with a random IV."""
    iv = secrets.token_bytes(16)
    plain = json.dumps(credentials, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    encryptor = Cipher(algorithms.AES(key), modes.CTR(iv)).encryptor()
    sealed = encryptor.update(plain) + encryptor.finalize()
    return {"$": iv.hex() + base64.b64encode(sealed).decode("ascii")}


def decrypt(key: bytes, data: Mapping[str, Any]) -> dict:
    """The credentials in an encrypted file's object. ValueError when the key is wrong (CTR has
    no integrity check: a wrong key gives bytes that are not JSON, as Node-RED finds out too)."""
    text = data.get("$")
    if not isinstance(text, str) or len(text) < 32:
        raise ValueError("the '$' field is not an IV and ciphertext")
    try:
        iv = bytes.fromhex(text[:32])
        sealed = base64.b64decode(text[32:] + "=" * (-len(text[32:]) % 4))
    except (ValueError, binascii.Error) as err:
        raise ValueError(f"the '$' field is not hex and base64: {err}") from None
    decryptor = Cipher(algorithms.AES(key), modes.CTR(iv)).decryptor()
    plain = decryptor.update(sealed) + decryptor.finalize()
    try:
        credentials = json.loads(plain.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ValueError("the secret does not decrypt it") from None
    if not isinstance(credentials, dict):
        raise ValueError("the secret does not decrypt it")
    return credentials


def is_encrypted(data: Mapping[str, Any]) -> bool:
    return "$" in data


# ---------------------------------------------------------------------- the file


class CredentialStore:
    """One credentials file and the secret it is kept with (see the module docstring)."""

    def __init__(self, path: str | os.PathLike, settings: Mapping[str, Any], log: Any = None) -> None:
        self.path = Path(path)
        self.settings = settings
        self.log = log
        self.runtime_config = Path(settings.get("userDir") or Path.home() / ".flowrt") / RUNTIME_CONFIG
        self._loaded: dict | None = None  # what load() returned, to skip rewriting an unchanged file
        self._migrating = False  # a generated secret is to be replaced by the user's setting
        user = settings.get("credentialSecret")
        if user is not None and user is not False and not isinstance(user, str):
            raise CredentialsError(f"credentialSecret must be a string or false, not {user!r}")
        self._user_secret = user

    @property
    def key_type(self) -> str:
        """Node-RED's `flowEncryptionType`: "user", "disabled" or "system"."""
        if self._user_secret is False:
            return "disabled"
        return "user" if isinstance(self._user_secret, str) else "system"

    def load(self) -> dict[str, dict]:
        """`{node id: {name: value}}` from the file ({} when there is none)."""
        data = self._read_file()
        if data is None:
            self._loaded = {}
            return {}
        system = self._system_secret()
        if system is not None and self.key_type != "system":
            self._migrating = True
        if not is_encrypted(data):
            credentials = data
        else:
            credentials = self._decrypt(data, system)
        if self.key_type == "system" and self.log is not None and credentials:
            self.log.warn(SYSTEM_KEY_WARNING.format(path=self.path, config=self.runtime_config))
        credentials = {k: v for k, v in credentials.items() if isinstance(v, dict)}
        self._loaded = credentials if not self._migrating and is_encrypted(data) == self._encrypts() else None
        return {k: dict(v) for k, v in credentials.items()}

    def save(self, credentials: Mapping[str, dict]) -> None:
        """Write the credentials (encrypted unless `credentialSecret` is false), mode 0600. An
        unchanged set is not rewritten (a new IV would change the file at every deploy)."""
        if self._loaded is not None and dict(credentials) == self._loaded:
            return
        if not credentials and not self.path.exists():
            return
        key = self._write_key()
        data = encrypt(key, credentials) if key is not None else dict(credentials)
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=4, ensure_ascii=False)
        os.replace(tmp, self.path)
        if self._migrating:
            self._set_system_secret(None)
            self._migrating = False
        self._loaded = {k: dict(v) for k, v in credentials.items()}

    # ------------------------------------------------------------------ helpers

    def _encrypts(self) -> bool:
        return self.key_type != "disabled"

    def _read_file(self) -> dict | None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as err:
            raise CredentialsError(f"{self.path}: cannot read credentials: {err}") from None
        if not isinstance(data, dict):
            raise CredentialsError(f"{self.path}: credentials must be an object of node id -> credentials")
        return data

    def _decrypt(self, data: dict, system: str | None) -> dict:
        # Node-RED decrypts with the generated secret while it is there (a migration), else the user's
        tried = [s for s in (system, self._user_secret) if isinstance(s, str)]
        if not tried:
            setting = "credentialSecret is false" if self.key_type == "disabled" else "no secret is set"
            raise CredentialsError(
                f"{self.path}: the credentials are encrypted but {setting} (and {self.runtime_config} "
                "has no _credentialSecret): set credentialSecret to the secret the file was written with"
            )
        problem = ""
        for secret in tried:
            try:
                return decrypt(key_of(secret), data)
            except ValueError as err:
                problem = str(err)
        where = (
            "credentialSecret" if self.key_type == "user" else f"_credentialSecret in {self.runtime_config}"
        )
        raise CredentialsError(
            f"{self.path}: cannot decrypt the credentials with {where}: {problem}; set credentialSecret "
            "to the secret the file was written with (nothing was written)"
        )

    def _write_key(self) -> bytes | None:
        if self.key_type == "disabled":
            return None
        if isinstance(self._user_secret, str):
            return key_of(self._user_secret)
        secret = self._system_secret()
        if secret is None:
            secret = secrets.token_hex(32)  # as Node-RED: 64 hex digits
            self._set_system_secret(secret)  # before the file it opens is written
            if self.log is not None:
                self.log.warn(SYSTEM_KEY_WARNING.format(path=self.path, config=self.runtime_config))
        return key_of(secret)

    def _runtime_config(self) -> dict:
        try:
            data = json.loads(self.runtime_config.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as err:
            raise CredentialsError(f"{self.runtime_config}: cannot read it: {err}") from None
        if not isinstance(data, dict):
            raise CredentialsError(f"{self.runtime_config}: must be a JSON object")
        return data

    def _system_secret(self) -> str | None:
        secret = self._runtime_config().get(SYSTEM_SECRET)
        return secret if isinstance(secret, str) and secret else None

    def _set_system_secret(self, secret: str | None) -> None:
        config = self._runtime_config()
        if secret is None:
            if SYSTEM_SECRET not in config:
                return
            del config[SYSTEM_SECRET]
        else:
            config[SYSTEM_SECRET] = secret
        self.runtime_config.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.runtime_config.with_name(f".{self.runtime_config.name}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(config, out, indent=4)
        os.replace(tmp, self.runtime_config)


# ---------------------------------------------------------------------- deploys and the editor


def apply_credentials(flows: list[dict], stored: Mapping[str, dict]) -> None:
    """Put stored credentials into the node configs that have none inline (for the runtime)."""
    for node in flows:
        creds = stored.get(node.get("id"))
        if creds:
            node["credentials"] = {**creds, **(node.get("credentials") or {})}


def merge_credentials(new_flows: list[dict], current: Mapping[str, dict]) -> dict[str, dict]:
    """Credentials after a deploy, as Node-RED's credentials.extract and clean: stored values stay
    unless the deploy changes them; `__PWRD__` keeps a password, an empty or blank value deletes
    one; removed nodes lose theirs."""
    merged: dict[str, dict] = {}
    for node in new_flows:
        node_id = node.get("id")
        if not isinstance(node_id, str):
            continue
        values = dict(current.get(node_id) or {})
        for name, value in (node.get("credentials") or {}).items():
            if value == PASSWORD_UNCHANGED:
                continue
            if value is None or (isinstance(value, str) and not value.strip()):
                values.pop(name, None)
            else:
                values[name] = value
        if values:
            merged[node_id] = values
    return merged


def node_credentials(node_type_creds: dict | None, values: Mapping[str, Any]) -> dict:
    """`GET /credentials/:type/:id`: `has_<name>` for passwords, the value for text fields."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        kind = (node_type_creds or {}).get(name, {}).get("type") if node_type_creds else None
        if kind == "text":
            out[name] = value
        else:
            out[f"has_{name}"] = bool(value)
    return out
