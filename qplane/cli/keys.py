"""``qplane keys create|list DIR``: the run's CURVE key pairs, one per role.

A run whose config sets ``qplane.security.keys: DIR`` encrypts every tcp endpoint with CURVE and
admits only these keys (see docs/security.md)::

    qplane keys create keys/            # one pair per role, files 0600, folder 0700
    qplane keys create keys/ --role decoder --force   # replace one role's pair
    qplane keys list keys/              # role, fingerprint, whether the secret is here

Give a remote worker's host only its role's pair and the public keys (``*.key``) of the
instrument server and the recorder.

>>> import argparse
>>> parser = argparse.ArgumentParser(prog="qplane")
>>> register(parser.add_subparsers(dest="command"))
>>> parser.parse_args(["keys", "list", "k"]).folder
'k'
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from qplane.cli._help import plain


def register(subparsers: Any) -> None:
    """Add ``keys create`` and ``keys list`` to the ``qplane`` command line."""
    keys = subparsers.add_parser("keys", help="create or list the run's CURVE key pairs",
                                 description=plain(__doc__),
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = keys.add_subparsers(dest="keys", metavar="ACTION", required=True)
    create = sub.add_parser("create", help="create one key pair per role in DIR",
                            description="Create one CURVE key pair per role (files 0600).")
    create.add_argument("folder", metavar="DIR", help="keys folder (created 0700)")
    create.add_argument("--role", action="append", default=None,
                        help="only this role (repeatable; default: every role)")
    create.add_argument("--force", action="store_true", help="replace keys that exist")
    create.set_defaults(func=_create)
    listing = sub.add_parser("list", help="list the key pairs in DIR",
                             description="List the key pairs in DIR: role, fingerprint, secret.")
    listing.add_argument("folder", metavar="DIR", help="keys folder")
    listing.set_defaults(func=_list)


def _print(keys: list) -> None:
    for k in keys:
        print(f"{k.role:<18} {k.fingerprint}  {'public + secret' if k.has_secret else 'public only'}"
              f"  {k.public_path}")


def _create(args: argparse.Namespace) -> int:
    from qplane.pipeline.security import ROLES, create_keys

    made = create_keys(args.folder, args.role or ROLES, force=args.force)
    print(f"created {len(made)} key pair(s) in {args.folder}:")
    _print(made)
    return 0


def _list(args: argparse.Namespace) -> int:
    from qplane.pipeline.security import list_keys

    found = list_keys(args.folder)
    if not found:
        print(f"no keys in {args.folder}; make them with: qplane keys create {args.folder}",
              file=sys.stderr)
        return 1
    _print(found)
    return 0
