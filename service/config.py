"""Service settings, read once from the environment at start-up.

Why these names: the chapter's pod passes the database credentials as lower-case env vars
(``db_host``, ``db_name``, ``db_user``, ``db_pass``); keeping them lets ``manifests/webpod.yml`` stay
faithful to the chapter. Why fail fast: the original Go app had no check and waited forever for a
database it could never reach; a missing setting is a deployment bug that must be named at once.

| variable       | default   | meaning                                                    |
|----------------|-----------|------------------------------------------------------------|
| db_host        | required  | PostgreSQL host (the chapter: 127.0.0.1, the db container) |
| db_name        | required  | database name                                              |
| db_user        | required  | database user                                              |
| db_pass        | required  | database password (may be empty; never logged)             |
| db_port        | 5432      | PostgreSQL port                                            |
| PORT           | 8080      | HTTP port                                                  |
| BIND_HOST      | 0.0.0.0   | HTTP address (the tests use 127.0.0.1)                     |
| QUIT_ENABLED   | false     | ``true`` enables GET /quit (the crash simulator)           |
| WEB_WORKERS    | 2         | gunicorn worker processes (tuned for 2 cores, bench/)      |
| WEB_THREADS    | 4         | threads per worker (= database connections per worker)     |
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

REQUIRED = ("db_host", "db_name", "db_user", "db_pass")
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"", "0", "false", "no", "off"})

# Defaults measured on the project's 2-core machine (bench/RESULTS.md).
DEFAULT_WORKERS = 2
DEFAULT_THREADS = 4


class ConfigError(Exception):
    """A setting is missing or malformed; the message names it so the operator can fix the manifest."""


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if raw == "":
        return default
    if not raw.isascii() or not raw.isdigit() or not low <= int(raw) <= high:
        raise ConfigError(f"setting {name}={raw!r} is not an integer between {low} and {high}")
    return int(raw)


def _bool(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in TRUE_WORDS:
        return True
    if raw in FALSE_WORDS:
        return False
    raise ConfigError(f"setting {name}={raw!r} is not a boolean (true/false)")


@dataclass(frozen=True)
class Settings:
    """Everything the service needs; ``db_pass`` is kept out of ``repr`` so it cannot leak into a log."""

    db_host: str
    db_name: str
    db_user: str
    db_pass: str = field(repr=False)
    db_port: int = 5432
    port: int = 8080
    bind_host: str = "0.0.0.0"
    quit_enabled: bool = False
    workers: int = DEFAULT_WORKERS
    threads: int = DEFAULT_THREADS

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Read and validate the settings; raise ConfigError naming the first bad or missing one."""
        missing = [name for name in REQUIRED if name not in env]
        missing += [name for name in REQUIRED[:3] if name in env and not env[name].strip()]
        if missing:
            raise ConfigError(f"required setting {missing[0]} is not set (required: {', '.join(REQUIRED)})")
        return cls(
            db_host=env["db_host"].strip(),
            db_name=env["db_name"].strip(),
            db_user=env["db_user"].strip(),
            db_pass=env["db_pass"],
            db_port=_int(env, "db_port", 5432, 1, 65535),
            port=_int(env, "PORT", 8080, 1, 65535),
            bind_host=env.get("BIND_HOST", "").strip() or "0.0.0.0",
            quit_enabled=_bool(env, "QUIT_ENABLED"),
            workers=_int(env, "WEB_WORKERS", DEFAULT_WORKERS, 1, 64),
            threads=_int(env, "WEB_THREADS", DEFAULT_THREADS, 1, 256),
        )

    def connect_kwargs(self, connect_timeout: int = 3) -> dict[str, object]:
        """psycopg2 keyword arguments: no DSN string is ever built, so none can be logged by accident."""
        return {
            "host": self.db_host,
            "port": self.db_port,
            "dbname": self.db_name,
            "user": self.db_user,
            "password": self.db_pass,
            "connect_timeout": connect_timeout,
            "application_name": "podlife-web",
            "client_encoding": "UTF8",
        }
