"""`hotline app-key create --name NAME`: a key for the mobile app or an Open311 client."""

from __future__ import annotations

import argparse
import re
import sys

from hotline.channels.app_keys import app_key_digest, new_app_key, parse_app_keys
from hotline.cli import command
from hotline.kit.settings import DEV_SECRET, Settings

_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["create"])
    p.add_argument("--name", required=True, help="who holds the key, e.g. dongguan-app or open311-partner")


@command("app-key", "create a key for the mobile app (X-Hotline-App-Key) or an Open311 client (api_key)",
         _args)
def app_key(a: argparse.Namespace, settings: Settings) -> int:
    if not _NAME.match(a.name):
        print("--name: letters, digits, '.', '_' and '-' only (at most 64)", file=sys.stderr)
        return 2
    existing = parse_app_keys(settings.app_keys)
    if a.name in existing:
        print(f"an app key named {a.name!r} is already in HOTLINE_APP_KEYS; pick another name "
              "(remove the old entry to revoke it)", file=sys.stderr)
        return 2
    if settings.secret_key == DEV_SECRET:
        print("warning: HOTLINE_SECRET_KEY is the development default; keys made now stop working "
              "when you set a real one", file=sys.stderr)
    key = new_app_key()
    entry = f"{a.name}:{app_key_digest(settings.secret_key, key)}"
    print(f"app key for {a.name} (shown once; give it to the app, do not store it here):")
    print(f"  {key}")
    print("add this entry to HOTLINE_APP_KEYS (comma-separated) on every gateway:")
    print(f"  HOTLINE_APP_KEYS={','.join([*(f'{n}:{d}' for n, d in existing.items()), entry])}")
    return 0
