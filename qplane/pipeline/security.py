"""Who may talk to whom: roles, CURVE keys, the ZAP allow-list, and what each role may send.

Every process of a run has a **role** (its ``source`` without a worker number: ``decoder-1`` is a
``decoder``). With keys (``qplane.security.keys``, made by ``qplane keys create DIR``) every tcp
endpoint — and with ``require_keys`` every endpoint — is CURVE-encrypted: the process that binds
it is the CURVE server, with its role's secret key, and a ZAP authenticator
(:class:`zmq.auth.thread.ThreadAuthenticator`) admits only the public keys of the roles that
:data:`CHANNELS` lists for that endpoint; the authenticated role becomes each message's ZAP
``User-Id``, so a receiver knows who sent it (:class:`qplane.pipeline.transport.Inbox` binds a
record's ``source`` to it). Without keys ipc and loopback tcp work as before; the folder of
``auto`` ipc endpoints is private to the launching user.

Key layout (one key pair per role, files 0600)::

    KEYS/instrument_server.key         public key (ZeroMQ certificate, z85)
    KEYS/instrument_server.key_secret  public + secret key
    KEYS/decoder.key ...  calibration.key ...  recorder.key ...  launcher.key ...

A remote worker's host needs only its own role's pair and the public keys of the processes it
connects to (``instrument_server.key``, ``recorder.key``).

>>> role_of("decoder-3"), role_of("instrument_server")
('decoder', 'instrument_server')
>>> may_send("decoder", "correction"), may_send("decoder", "applied")
(True, False)
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
import re
from collections.abc import Iterable, Mapping

import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator

from qplane.config import endpoint_host, is_loopback
from qplane.errors import ConfigError, PipelineError

#: Every role of a run, as its key pair is named.
ROLES = ("instrument_server", "decoder", "calibration", "recorder", "launcher")

#: Each endpoint: (the role that binds it, the roles that may connect to it).
CHANNELS: Mapping[str, tuple[str, frozenset[str]]] = {
    "syndromes": ("instrument_server", frozenset({"decoder"})),
    "corrections": ("instrument_server", frozenset({"decoder"})),
    "control": ("instrument_server", frozenset({"decoder", "calibration"})),
    "records": ("recorder", frozenset({"instrument_server", "decoder", "calibration", "launcher"})),
    # every process beats to the launcher (its heartbeat thread); statistics only the server
    "monitor": ("launcher", frozenset({"instrument_server", "decoder", "calibration", "recorder"})),
}

_EVERYONE = frozenset(ROLES)
#: Which roles may send each record kind; anything else is refused by the receiver.
SENDERS: Mapping[str, frozenset[str]] = {
    "syndrome": frozenset({"instrument_server"}),
    "syndrome_blocks": frozenset({"instrument_server"}),  # several blocks in one
    "applied": frozenset({"instrument_server"}),
    "applied_blocks": frozenset({"instrument_server"}),  # several applied blocks in one
    "run_start": frozenset({"instrument_server"}),
    "circuit": frozenset({"instrument_server"}),
    "stats": frozenset({"instrument_server"}),
    "detection_counts": frozenset({"instrument_server"}),
    "calibration_reply": frozenset({"instrument_server"}),
    "parameter_change": frozenset({"instrument_server"}),  # only the ledger, after a write
    "simulation_truth": frozenset({"instrument_server"}),
    "correction": frozenset({"decoder"}),
    "corrections": frozenset({"decoder"}),  # several blocks' corrections in one message
    "decoder_compiled": frozenset({"decoder"}),
    "noise_model": frozenset({"decoder"}),  # a learned model it swapped to
    "circuit_request": frozenset({"decoder", "calibration"}),
    # decoders: only the read-only calls of calibration_link.READ_CALLS (history, ...)
    "calibration_call": frozenset({"calibration", "decoder"}),
    "calibration_run": frozenset({"calibration"}),
    "run_end": frozenset({"launcher"}),
    "register": frozenset({"decoder", "calibration"}),  # joining the server's dispatch
    "flush_ack": frozenset({"recorder"}),  # what it has made durable, to each sender
    "resync": _EVERYONE,  # where a sender's streams go on, to a (restarted) recorder
    "heartbeat": _EVERYONE,
    "event": _EVERYONE,
    "stream_end": _EVERYONE,
}

_WORKER_SUFFIX = re.compile(r"[-.]")  # what follows a role in a process name


@functools.lru_cache(maxsize=1024)
@functools.lru_cache(maxsize=4096)  # asked of every record received; a run has few sources
def role_of(source: str) -> str:
    """The role of a record's ``source``: its name up to the first ``-`` or ``.`` (roles have
    neither): ``decoder-0``, ``decoder-0.r1`` (restarted), ``decoder-host-12`` (remote) and
    ``calibration.r2`` are a ``decoder`` and the ``calibration`` worker.

    >>> [role_of(s) for s in ("decoder-0.r1", "decoder-lab2-4711", "calibration.r2", "recorder")]
    ['decoder', 'decoder', 'calibration', 'recorder']
    """
    return _WORKER_SUFFIX.split(source, maxsplit=1)[0]


def may_send(role: str, kind: str) -> bool:
    """Whether ``role`` may send records of ``kind``."""
    return role in SENDERS.get(kind, ())


# -- keys ------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class KeyInfo:
    """One role's key files as found in a keys folder."""

    role: str
    public_path: str
    has_secret: bool
    fingerprint: str  # first 16 hex digits of the public key's SHA-256 (safe to show and record)


def key_paths(folder: str, role: str) -> tuple[str, str]:
    """(public, secret) key file paths of ``role`` in ``folder``."""
    base = os.path.join(folder, role)
    return base + ".key", base + ".key_secret"


def fingerprint(public_key: bytes) -> str:
    """A short, safe-to-show name of a public key."""
    return hashlib.sha256(public_key).hexdigest()[:16]


def create_keys(folder: str, roles: Iterable[str] = ROLES, *, force: bool = False) -> list[KeyInfo]:
    """Create one CURVE key pair per role in ``folder`` (made 0700; the files 0600).

    Raises:
        ConfigError: a role's key exists already (pass ``force`` to replace it) or is unknown.
    """
    roles = list(roles)
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise ConfigError(f"unknown role(s) {unknown}; roles are {', '.join(ROLES)}")
    os.makedirs(folder, mode=0o700, exist_ok=True)
    os.chmod(folder, 0o700)
    for role in roles:
        public, secret = key_paths(folder, role)
        if not force and (os.path.exists(public) or os.path.exists(secret)):
            raise ConfigError(f"{public} exists already; pass --force to replace the {role} key "
                              "(every process of the run then needs the new one)")
    old = os.umask(0o077)
    try:
        for role in roles:
            for path in key_paths(folder, role):
                if os.path.exists(path):
                    os.remove(path)
            zmq.auth.create_certificates(folder, role)
            for path in key_paths(folder, role):
                os.chmod(path, 0o600)
    finally:
        os.umask(old)
    return [k for k in list_keys(folder) if k.role in roles]


def list_keys(folder: str) -> list[KeyInfo]:
    """The key pairs in ``folder``, by role (public keys without a secret included)."""
    out = []
    for role in ROLES:
        public, secret = key_paths(folder, role)
        if os.path.exists(public):
            pub, _ = zmq.auth.load_certificate(public)
            out.append(KeyInfo(role, public, os.path.exists(secret), fingerprint(pub)))
    return out


def load_keypair(folder: str, role: str) -> tuple[bytes, bytes]:
    """``role``'s (public, secret) key from ``folder``.

    Raises:
        ConfigError: a key file is missing, or the secret one is readable by other users.
    """
    public, secret = _load(folder, role, secret=True)
    return public, secret  # type: ignore[return-value]


def _load(folder: str, role: str, *, secret: bool) -> tuple[bytes, bytes | None]:
    public_path, secret_path = key_paths(folder, role)
    path = secret_path if secret else public_path
    if not os.path.exists(path):
        raise ConfigError(f"no {'secret' if secret else 'public'} key for role {role} at {path}; "
                          f"make the run's keys with `qplane keys create {folder}`",
                          key="qplane.security.keys")
    mode = os.stat(path).st_mode & 0o077
    if secret and mode:
        raise ConfigError(f"{path} is readable by other users (mode {oct(mode)}); "
                          f"chmod 600 {path}", key="qplane.security.keys")
    try:
        return zmq.auth.load_certificate(path)
    except (OSError, ValueError) as e:
        raise ConfigError(f"cannot read the {role} key {path}: {e}",
                          key="qplane.security.keys") from e


# -- one process's transport security -----------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class SocketInfo:
    """What :meth:`TransportSecurity.apply` made of one socket."""

    channel: str  # the endpoint's name ("" for an address that is none of the run's)
    curve: bool
    bind: bool


@dataclasses.dataclass
class TransportSecurity:
    """The security of one process's sockets: its role, the run's keys, the bounds.

    Args:
        role: this process's role (its key pair).
        endpoints: endpoint name -> address, as resolved by the launcher.
        keys: the keys folder, or None.
        require_keys: CURVE on ipc and loopback too.
        max_message_bytes, queue_limit: ``ZMQ_MAXMSGSIZE`` and the high-water marks.
        max_json_depth, sequence_window: the receivers' bounds (see the config section).
    """

    role: str
    endpoints: Mapping[str, str]
    keys: str | None = None
    require_keys: bool = False
    max_message_bytes: int = 64 * 2**20
    queue_limit: int = 1000
    max_json_depth: int = 32
    sequence_window: int = 100_000
    _auth: ThreadAuthenticator | None = dataclasses.field(default=None, repr=False)
    _domains: set[str] = dataclasses.field(default_factory=set, repr=False)
    _sockets: dict[int, SocketInfo] = dataclasses.field(default_factory=dict, repr=False)

    @classmethod
    def from_settings(cls, settings, *, role: str, endpoints: Mapping[str, str]) -> "TransportSecurity":
        """From a config's ``qplane.security`` section (:class:`qplane.config.SecuritySettings`)."""
        return cls(role=role, endpoints=dict(endpoints), keys=settings.keys,
                   require_keys=settings.require_keys,
                   max_message_bytes=settings.max_message_bytes,
                   queue_limit=settings.queue_limit, max_json_depth=settings.max_json_depth,
                   sequence_window=settings.sequence_window)

    def channel_of(self, endpoint: str) -> str | None:
        """The endpoint name (``records``, ...) of an address, or None for another one."""
        return next((name for name, value in self.endpoints.items() if value == endpoint), None)

    def curve_for(self, endpoint: str) -> bool:
        """Whether ``endpoint`` is CURVE-encrypted (and refuse one that must be but cannot).

        Raises:
            ConfigError: a non-loopback tcp endpoint without keys.
        """
        host = endpoint_host(endpoint)
        if self.keys is not None:
            return host is not None or self.require_keys
        if host is not None and not is_loopback(host):
            raise ConfigError(f"{endpoint} is not a loopback address and the run has no keys; "
                              "set qplane.security.keys (`qplane keys create DIR`)",
                              key="qplane.security.keys")
        return False

    def apply(self, sock: zmq.Socket, endpoint: str, *, bind: bool) -> bool:
        """Set the bounds and, where due, CURVE on ``sock`` before it binds or connects.

        Returns whether the socket is CURVE-authenticated.
        """
        sock.setsockopt(zmq.MAXMSGSIZE, self.max_message_bytes)
        sock.setsockopt(zmq.SNDHWM, self.queue_limit)
        sock.setsockopt(zmq.RCVHWM, self.queue_limit)
        channel = self.channel_of(endpoint)
        curve = self.curve_for(endpoint)
        self._sockets[sock.underlying] = SocketInfo(channel or "", curve, bind)
        if not curve:
            return False
        if channel is None:
            raise PipelineError(f"{endpoint} is none of the run's endpoints; it cannot be secured")
        server_role, clients = CHANNELS[channel]
        if bind:
            public, secret = _load(self.keys, self.role, secret=True)
            self._allow(channel, clients)
            sock.curve_secretkey, sock.curve_publickey = secret, public
            sock.curve_server = True
            sock.zap_domain = channel.encode()
        else:
            public, secret = _load(self.keys, self.role, secret=True)
            server_public, _ = _load(self.keys, server_role, secret=False)
            sock.curve_secretkey, sock.curve_publickey = secret, public
            sock.curve_serverkey = server_public
        return True

    def socket_info(self, sock: zmq.Socket) -> SocketInfo | None:
        """How ``sock`` was made (None: not by :meth:`apply`)."""
        return self._sockets.get(sock.underlying)

    def _allow(self, channel: str, clients: frozenset[str]) -> None:
        """Admit the public keys of ``clients`` on ``channel``'s ZAP domain."""
        if channel in self._domains:
            return
        if self._auth is None:
            raise PipelineError("TransportSecurity.start(context) must run before a CURVE "
                                "socket binds")
        allowed = {}
        for role in sorted(clients):
            try:
                public, _ = _load(self.keys, role, secret=False)
            except ConfigError:
                continue  # a role without a key cannot connect: nothing to admit
            allowed[zmq.utils.z85.decode(public)] = role
        self._auth.configure_curve_callback(domain=channel, credentials_provider=_AllowList(allowed))
        self._auth.roles.update(allowed)
        self._domains.add(channel)

    def start(self, context: zmq.Context) -> None:
        """Start the ZAP authenticator (only when the run has keys)."""
        if self.keys is not None and self._auth is None:
            self._auth = _RoleAuthenticator(context)
            self._auth.start()

    def stop(self) -> None:
        if self._auth is not None:
            self._auth.stop()
            self._auth = None
            self._domains.clear()


class _AllowList:
    """ZAP credentials provider: admits the listed public keys (binary) only."""

    def __init__(self, allowed: Mapping[bytes, str]):
        self.allowed = {zmq.utils.z85.encode(k): role for k, role in allowed.items()}

    def callback(self, domain: str, key: bytes) -> bool:
        return key in self.allowed


class _RoleAuthenticator(ThreadAuthenticator):
    """A ZAP authenticator whose User-Id for a CURVE client is its role's name."""

    def __init__(self, context: zmq.Context):
        super().__init__(context)
        self.roles: dict[bytes, str] = {}

    def curve_user_id(self, client_public_key: bytes) -> str:
        return self.roles.get(client_public_key, "unknown")


class SecureContext(zmq.Context):
    """A ZeroMQ context that carries its process's :class:`TransportSecurity`.

    :func:`qplane.pipeline.transport.make_socket` secures every socket made on it, and an
    :class:`~qplane.pipeline.transport.Inbox` on one of its sockets enforces :data:`SENDERS`.
    """

    security: TransportSecurity = None  # type: ignore[assignment]  # a class attribute: pyzmq
    # would take an unknown instance attribute for a context option

    def __init__(self, security: TransportSecurity):
        super().__init__()
        self.security = security
        security.start(self)

    def destroy(self, linger: int | None = None) -> None:
        self.security.stop()
        super().destroy(linger)


def peer_identity(frame: object) -> str | None:
    """The ZAP User-Id of a received :class:`zmq.Frame`, or None (not authenticated)."""
    try:
        user = frame.get("User-Id")  # type: ignore[attr-defined]
    except (zmq.ZMQError, AttributeError):
        return None
    return user or None
