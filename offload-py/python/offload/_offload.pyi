# Stubs of the native module offload._offload (offload-py/src/*.rs).
# Checked against the built module by `python -m mypy.stubtest offload._offload`
# (the pytest_py stage of `cargo xtask test`).

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, Literal, Optional, Union, final

__all__ = [
    "LINKTYPE_ETHERNET",
    "LINKTYPE_LINUX_SLL",
    "LINKTYPE_LINUX_SLL2",
    "LINKTYPE_NULL",
    "LINKTYPE_RAW",
    "SEED_FEATURES",
    "Capture",
    "CaptureError",
    "Change",
    "ChangeReport",
    "EthtoolError",
    "Feature",
    "FeatureState",
    "Interface",
    "InvalidArgumentError",
    "NoSuchInterfaceError",
    "Observation",
    "OffloadError",
    "PacketError",
    "Snapshot",
    "Verdict",
    "VerdictBatch",
    "XapiError",
    "XapiSession",
    "__version__",
    "apply_features",
    "apply_json",
    "capture",
    "capture_json",
    "check_file",
    "check_file_json",
    "checksum",
    "checksum_sum",
    "checksum_verify",
    "classify",
    "classify_batch",
    "disable",
    "doctor",
    "doctor_compare",
    "doctor_evidence",
    "doctor_json",
    "features_json",
    "interfaces_json",
    "list_interfaces",
    "read_features",
    "restore",
]

__version__: str
LINKTYPE_NULL: int
LINKTYPE_ETHERNET: int
LINKTYPE_RAW: int
LINKTYPE_LINUX_SLL: int
LINKTYPE_LINUX_SLL2: int
SEED_FEATURES: list[str]

_Path = Union[str, os.PathLike[str]]
_Json = dict[str, Any]

# Exceptions -----------------------------------------------------------------

class OffloadError(Exception):
    """Base of every error the offload module raises."""

class EthtoolError(OffloadError, OSError):
    """A failed ioctl, socket, namespace or capture-file operation."""

    ifname: Optional[str]
    op: Optional[str]

class NoSuchInterfaceError(EthtoolError): ...
class CaptureError(EthtoolError): ...
class InvalidArgumentError(OffloadError, ValueError): ...

class PacketError(InvalidArgumentError):
    reason: Optional[str]

class XapiError(OffloadError):
    code: str
    params: tuple[str, ...]
    method: Optional[str]
    errno: Optional[int]

# Checksums and verdicts -----------------------------------------------------

@final
class Verdict:
    @property
    def kind(self) -> Literal["correct", "incorrect", "offload_pending", "not_verified"]: ...
    @property
    def found(self) -> Optional[int]: ...
    @property
    def expected(self) -> Optional[int]: ...
    @property
    def reason(
        self,
    ) -> Optional[Literal["fragment", "truncated", "udp_zero_checksum", "unsupported_protocol"]]: ...

@final
class Observation:
    @property
    def ip_version(self) -> Optional[int]: ...
    @property
    def src(self) -> Optional[str]: ...
    @property
    def dst(self) -> Optional[str]: ...
    @property
    def src_port(self) -> Optional[int]: ...
    @property
    def dst_port(self) -> Optional[int]: ...
    @property
    def ip_header(self) -> Optional[Verdict]: ...
    @property
    def protocol(self) -> Optional[str]: ...
    @property
    def transport(self) -> Optional[Verdict]: ...

def checksum(data: bytes) -> int: ...
def checksum_sum(data: bytes) -> int: ...
def checksum_verify(data: bytes) -> bool: ...
def classify(frame: bytes, link_type: int = 1) -> Observation: ...
@final
class VerdictBatch:
    def __len__(self) -> int: ...
    def __getitem__(self, index: int, /) -> Optional[Observation]: ...
    def __iter__(self) -> Iterator[Optional[Observation]]: ...
    def to_list(self) -> list[Optional[Observation]]: ...

def classify_batch(frames: Iterable[bytes], link_type: int = 1) -> VerdictBatch: ...

# Features -------------------------------------------------------------------

# An interface name: bytes, or str (os.fsencode gives its bytes back).
_IfName = Union[str, bytes]

@final
class Feature:
    @property
    def name(self) -> str: ...
    @property
    def active(self) -> bool: ...
    @property
    def requested(self) -> bool: ...
    @property
    def fixed(self) -> bool: ...

@final
class FeatureState:
    @staticmethod
    def read(ifname: _IfName, netns: Optional[str] = None) -> FeatureState: ...
    @property
    def ifname(self) -> str: ...
    def features(self) -> list[Feature]: ...
    def names(self) -> list[str]: ...
    def render_ethtool_k(self) -> str: ...
    def to_json(self) -> str: ...
    def __getitem__(self, name: str, /) -> Feature: ...
    def __contains__(self, name: str, /) -> bool: ...
    def __len__(self) -> int: ...

@final
class Change:
    @property
    def feature(self) -> str: ...
    @property
    def active(self) -> bool: ...
    @property
    def requested(self) -> bool: ...
    @property
    def refused(self) -> bool: ...

@final
class ChangeReport:
    @property
    def ifname(self) -> str: ...
    @property
    def before(self) -> FeatureState: ...
    @property
    def after(self) -> FeatureState: ...
    @property
    def not_present(self) -> list[str]: ...
    def changes(self) -> list[Change]: ...
    def nothing_changed(self) -> bool: ...
    def render_ethtool(self) -> str: ...
    def to_json(self) -> str: ...

@final
class Interface:
    @property
    def name(self) -> str: ...
    @property
    def ifindex(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def role(self) -> str: ...

@final
class Snapshot:
    @staticmethod
    def take(ifnames: Optional[Sequence[_IfName]] = None, netns: Optional[str] = None) -> Snapshot: ...
    @staticmethod
    def load(path: _Path) -> Snapshot: ...
    def save(self, path: _Path, force: bool = False) -> None: ...
    def to_json(self) -> str: ...
    @property
    def netns(self) -> Optional[str]: ...
    @property
    def interfaces(self) -> list[str]: ...

_Settings = Union[str, Sequence[str], Mapping[str, bool]]

def read_features(ifname: _IfName, netns: Optional[str] = None) -> FeatureState: ...
def apply_features(ifname: _IfName, settings: _Settings, netns: Optional[str] = None) -> ChangeReport: ...
def disable(
    ifnames: Optional[Sequence[_IfName]] = None,
    features: Optional[Sequence[str]] = None,
    dry_run: bool = False,
    netns: Optional[str] = None,
    preset: Optional[str] = None,
    targets: Optional[str] = None,
) -> _Json: ...
def restore(
    snapshot: Snapshot,
    netns: Optional[str] = None,
    allow_other_host: bool = False,
    all_features: bool = False,
) -> _Json: ...
def list_interfaces(netns: Optional[str] = None, targets: Optional[str] = None) -> list[Interface]: ...
def features_json(ifname: _IfName, netns: Optional[str] = None) -> str: ...
def interfaces_json(targets: Optional[str] = None, netns: Optional[str] = None) -> str: ...
def apply_json(ifname: _IfName, settings: _Settings, netns: Optional[str] = None) -> str: ...

# Captures -------------------------------------------------------------------

@final
class Capture:
    def __new__(
        cls,
        interfaces: Union[str, Sequence[str], None] = None,
        *,
        seconds: Optional[float] = None,
        count: Optional[int] = None,
        netns: Optional[str] = None,
        write: Optional[_Path] = None,
    ) -> Capture: ...
    def status(self) -> dict[str, int]: ...
    def is_finished(self) -> bool: ...
    def stop(self) -> None: ...
    def wait(self, timeout: Optional[float] = None) -> bool: ...
    def finish(self) -> _Json: ...
    def __enter__(self) -> Capture: ...
    def __exit__(
        self,
        _kind: Optional[type[BaseException]],
        _value: Optional[BaseException],
        _traceback: Optional[TracebackType],
    ) -> bool: ...

def doctor(
    netns: Optional[Sequence[str]] = None,
    seconds: float = 5.0,
    *,
    knowledge: Optional[_Path] = None,
) -> _Json: ...
def doctor_json(
    netns: Optional[Sequence[str]] = None,
    seconds: float = 5.0,
    *,
    knowledge: Optional[_Path] = None,
) -> str: ...
def doctor_evidence(evidence_json: str, *, knowledge: Optional[_Path] = None) -> _Json: ...
def doctor_compare(before_json: str, after_json: str) -> _Json: ...
def check_file(path: _Path) -> _Json: ...
def check_file_json(path: _Path) -> str: ...
def capture(
    interfaces: Union[str, Sequence[str], None] = None,
    seconds: float = 10.0,
    *,
    count: Optional[int] = None,
    netns: Optional[str] = None,
) -> _Json: ...
def capture_json(ifname: str, seconds: float, netns: Optional[str] = None) -> str: ...

# XAPI -----------------------------------------------------------------------

@final
class XapiSession:
    def __new__(
        cls,
        url: str,
        user: str = "root",
        password: str = "",
        *,
        fingerprint: Optional[str] = None,
        insecure: bool = False,
        json_rpc: bool = False,
        timeout: float = 60.0,
    ) -> XapiSession: ...
    @property
    def url(self) -> str: ...
    @property
    def calls_made(self) -> int: ...
    def pif_apply(
        self,
        preset: Optional[str] = None,
        *,
        settings: Optional[str] = None,
        hosts: Sequence[str] = ...,
        devices: Sequence[str] = ...,
        networks: Sequence[str] = ...,
        dry_run: bool = False,
    ) -> _Json: ...
    def vif_apply(
        self,
        preset: Optional[str] = None,
        *,
        settings: Optional[str] = None,
        vm_names: Sequence[str] = ...,
        vm_uuids: Sequence[str] = ...,
        networks: Sequence[str] = ...,
        dry_run: bool = False,
    ) -> _Json: ...
    def verify(
        self,
        target: Literal["pif", "vif"],
        preset: Optional[str] = None,
        *,
        settings: Optional[str] = None,
        hosts: Sequence[str] = ...,
        devices: Sequence[str] = ...,
        vm_names: Sequence[str] = ...,
        vm_uuids: Sequence[str] = ...,
        networks: Sequence[str] = ...,
    ) -> list[_Json]: ...
    def logout(self) -> None: ...
    def __enter__(self) -> XapiSession: ...
    def __exit__(
        self,
        kind: Optional[type[BaseException]],
        _value: Optional[BaseException],
        _traceback: Optional[TracebackType],
    ) -> bool: ...
