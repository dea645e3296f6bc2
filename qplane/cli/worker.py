"""``qplane worker decode|calibrate CONFIG``: a worker on another host joins a running run.

The worker connects to the run's endpoints as the config names them (tcp addresses: ``auto``
endpoints live in the launcher's private folder and cannot be reached from elsewhere), with its
key, registers with the instrument server and is supervised like a local worker: the server's
heartbeats notice it stop or hang, and re-dispatch the blocks it held. Restarting a remote
worker is its own host's business (a service manager); ``--run-id`` names the run it joins
(``qplane run`` prints it).

    qplane worker decode config/lab.yaml --run-id 3f2a... [--name decoder-gpu1]
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from typing import Any


def register(subparsers: Any) -> None:
    """Add ``worker decode`` and ``worker calibrate``."""
    worker = subparsers.add_parser("worker", help="run a decoding or calibration worker that "
                                                  "joins a run from another host")
    roles = worker.add_subparsers(dest="worker_role", metavar="ROLE", required=True)
    for role, help in (("decode", "a decoding worker"), ("calibrate", "the calibration worker")):
        p = roles.add_parser(role, help=help, description=f"Run {help} that joins a running "
                             "run: connect to the config's tcp endpoints, register, decode or "
                             "calibrate until Ctrl-C / SIGTERM.")
        p.add_argument("config", help="the run's config file (its endpoints must be tcp://)")
        p.add_argument("--run-id", required=True, help="the id of the run to join "
                                                       "(qplane run prints it)")
        p.add_argument("--name", default="", help="this worker's name, after its role "
                                                  "(default: decoder-HOST-PID / calibration-HOST-PID; "
                                                  "--name lab2 gives decoder-lab2)")
        p.set_defaults(func=worker_command)


def worker_keys(config: Any, role: str) -> Any:
    """The key files this worker authenticates with (``[]`` when the config names no keys).

    The one place a remote worker checks its keys before it connects: the config's
    ``qplane.security.keys`` folder must hold this role's key pair (its secret readable only
    by its owner); the sockets load them through the process's
    :class:`~qplane.pipeline.security.SecureContext`.

    Raises:
        ConfigError: the folder lacks this role's keys, or a secret key is readable by others.
    """
    from qplane.pipeline.security import list_keys, load_keypair

    folder = config.qplane.security.keys
    if not folder:
        return []
    load_keypair(folder, role)
    return [k for k in list_keys(folder) if k.role == role]


def remote_spec(config: Any, run_id: str) -> Any:
    """The :class:`~qplane.pipeline.RunSpec` a remote worker runs under.

    Raises:
        ConfigError: an endpoint it needs is ``auto`` (only reachable on the launcher's host).
    """
    from qplane.config import ENDPOINT_NAMES
    from qplane.errors import ConfigError
    from qplane.pipeline.process import RunSpec

    endpoints = {name: getattr(config.qplane.endpoints, name) for name in ENDPOINT_NAMES}
    for name in ("syndromes", "control", "records", "monitor"):
        if endpoints[name] == "auto":
            raise ConfigError("is 'auto', which only the launcher's host can reach; give it a "
                              "tcp://HOST:PORT address for a remote worker", path=config.path,
                              key=f"qplane.endpoints.{name}")
    return RunSpec(run_id=run_id, config_path=os.path.abspath(config.path),
                   config=config.handoff(), out_path="", endpoints=endpoints, duration=None,
                   max_blocks=None, workers=0, calibration=True)


def worker_command(args: argparse.Namespace) -> int:
    from qplane.config import load_config
    from qplane.errors import ConfigError
    from qplane.pipeline.process import run_role

    config = load_config(args.config)
    role = "decoder" if args.worker_role == "decode" else "calibration"
    try:
        spec = remote_spec(config, args.run_id)
    except ConfigError as e:
        for error in e.errors:
            print(f"qplane worker: error: {error}", file=sys.stderr)
        return 2
    worker_keys(config, role)
    from qplane.pipeline.security import role_of

    name = args.name or f"{socket.gethostname()}-{os.getpid()}"
    if role_of(name) != role:  # a process's name starts with its role (records are checked by it)
        name = f"{role}-{name}"
    print(f"qplane worker {args.worker_role}: {name} joining run {args.run_id}", flush=True)
    return run_role(role, spec, name, watch_parent=False)
