"""Fixtures for the dom0 plugin tests: run the plugin the way xapi does (one
argv = an XML-RPC methodCall, stdout = a methodResponse), locate liboffload.so,
and build a throw-away network namespace for the tests that change features."""

import os
import shutil
import stat
import struct
import subprocess
import sys
import xmlrpc.client

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
PLUGIN = os.path.join(ROOT, "offload-py", "plugins", "offload")
SESSION = "OpaqueRef:00000000-0000-0000-0000-000000000001"


def workspace_version():
    with open(os.path.join(ROOT, "Cargo.toml")) as f:
        in_package = False
        for line in f:
            line = line.strip()
            if line.startswith("["):
                in_package = line == "[workspace.package]"
            elif in_package and line.startswith("version"):
                return line.split("=", 1)[1].strip().strip('"')
    raise AssertionError("no [workspace.package] version in Cargo.toml")


def find_liboffload():
    """$OFFLOAD_LIB (set by `cargo xtask test`), else the cdylib in $CARGO_TARGET_DIR
    (default target/plugin, where `cargo xtask test plugin` builds it)."""
    if os.environ.get("OFFLOAD_LIB"):
        return os.environ["OFFLOAD_LIB"]
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target", "plugin"))
    candidate = os.path.join(target, "debug", "liboffload.so")
    return candidate if os.path.isfile(candidate) else None


def load_plugin_module():
    """The plugin as a module (it has no .py suffix), for its pure helpers."""
    import importlib.machinery
    import importlib.util

    loader = importlib.machinery.SourceFileLoader("offload_plugin", PLUGIN)
    spec = importlib.util.spec_from_loader("offload_plugin", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


class Response(object):
    """One plugin run: the decoded methodResponse plus the raw process output."""

    def __init__(self, proc):
        self.returncode = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        assert proc.returncode == 0, "plugin exited %d\nstdout:%s\nstderr:%s" % (
            proc.returncode,
            proc.stdout,
            proc.stderr,
        )
        (params,), method = xmlrpc.client.loads(proc.stdout)
        assert method is None, "not a methodResponse: %r" % proc.stdout
        self.status = params["Status"]
        self.value = params.get("Value")
        self.error = params.get("ErrorDescription")

    @property
    def ok(self):
        return self.status == "Success"

    def __repr__(self):
        return "Response(%s, value=%r, error=%r, stderr=%r)" % (
            self.status,
            (self.value or "")[:300],
            self.error,
            self.stderr[-500:],
        )


def plugin_env(backend="ctypes", lib=None, extra=None):
    env = dict(os.environ)
    env["PYTHONPATH"] = HERE  # the XenAPIPlugin stand-in
    env["OFFLOAD_PLUGIN_BACKEND"] = backend
    if lib is not None:
        env["OFFLOAD_LIB"] = lib
    env.update(extra or {})
    return env


def call_plugin(function, args, env, netns=None, plugin_path=PLUGIN):
    """Runs the plugin as xapi does; `netns` runs it inside that namespace."""
    request = xmlrpc.client.dumps((SESSION, args), function)
    argv = [sys.executable, plugin_path, request]
    if netns is not None:
        argv = ["ip", "netns", "exec", netns] + argv
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    return Response(proc)


# Forkhelpers.default_path (ocaml/forkexecd/lib/forkhelpers.ml): the PATH
# xapi gives a plugin, its whole environment.
XAPI_PATH = "/sbin:/usr/sbin:/bin:/usr/bin"


def pyenv_python(version):
    """Real CPython `version` from pyenv (2.7.18 and 3.6.15 are dom0's)."""
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    exe = os.path.join(root, "versions", version, "bin", "python")
    if not os.path.isfile(exe):
        pytest.skip("SKIP: CPython %s is not installed (pyenv install %s)" % (version, version))
    return exe


class Dom0(object):
    """A dom0 under a temporary root, laid out as the RPM installs
    (xtask/src/dist/rpm.rs): ROOT/etc/xapi.d/plugins/offload and, when
    given, ROOT/usr/lib64/liboffload.so.0. Its interpreters live in
    ROOT/usr/bin; XenAPIPlugin (the stand-in beside this file) sits in
    ROOT/usr/lib/site-packages, which only the interpreters told to have it
    see, as each dom0 Python has its own site-packages. Every run of an
    interpreter on the plugin is recorded in ROOT/ran."""

    def __init__(self, root, liboffload=None):
        self.root = str(root)
        self.plugin_dir = os.path.join(self.root, "etc", "xapi.d", "plugins")
        self.plugin = os.path.join(self.plugin_dir, "offload")
        self.bin = os.path.join(self.root, "usr", "bin")
        self.site = os.path.join(self.root, "usr", "lib", "site-packages")
        self.log = os.path.join(self.root, "ran")
        for d in (self.plugin_dir, self.bin, self.site):
            os.makedirs(d)
        shutil.copy(PLUGIN, self.plugin)
        shutil.copy(os.path.join(HERE, "XenAPIPlugin.py"), self.site)
        if liboffload is not None:
            libdir = os.path.join(self.root, "usr", "lib64")
            os.makedirs(libdir)
            shutil.copy(liboffload, os.path.join(libdir, "liboffload.so.0"))

    @property
    def path(self):
        """The PATH a plugin runs with here: xapi's, after this dom0's bin."""
        return self.bin + ":" + XAPI_PATH

    def python(self, name, exe, has_xenapiplugin=True):
        """ROOT/usr/bin/NAME runs `exe`, with XenAPIPlugin importable only if asked."""
        path = os.path.join(self.bin, name)
        site = self.site if has_xenapiplugin else ""
        with open(path, "w") as f:
            f.write(
                "#!/bin/sh\n"
                'case "$1" in -c) ;; *) echo "%s $1" >> "%s" ;; esac\n'
                'PYTHONPATH="%s" exec "%s" "$@"\n' % (name, self.log, site, exe)
            )
        os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)

    def ran(self):
        """[interpreter name, plugin path, ...] of every run so far."""
        if not os.path.exists(self.log):
            return []
        with open(self.log) as f:
            return f.read().split()

    def run_as_xapi(self, function, args, netns=None):
        """The plugin started as Xapi_plugins.call_plugin starts it: by its
        own #! line, argv[1] = the methodCall, stdin /dev/null, PATH only."""
        request = xmlrpc.client.dumps((SESSION, args), function)
        argv = [self.plugin, request]
        if netns is not None:
            argv = ["ip", "netns", "exec", netns] + argv
        return subprocess.run(
            argv, env={"PATH": self.path}, stdin=subprocess.DEVNULL, capture_output=True,
            timeout=60,
        )


def response_of(proc):
    """The methodResponse's struct of a run that exited 0."""
    assert proc.returncode == 0, proc
    (params,), method = xmlrpc.client.loads(proc.stdout.decode("utf-8"))
    assert method is None, proc.stdout
    return params


@pytest.fixture(scope="session")
def liboffload():
    path = find_liboffload()
    if path is None:
        pytest.skip(
            "SKIP: liboffload.so not built (run `cargo build -p offload-capi` or `cargo xtask test plugin`)"
        )
    return path


@pytest.fixture
def plugin(liboffload):
    """call(function, args, backend="ctypes", netns=None, extra_env=None) -> Response."""

    def call(function, args=None, backend="ctypes", netns=None, extra_env=None):
        return call_plugin(
            function, args or {}, plugin_env(backend, liboffload, extra_env), netns=netns
        )

    return call


def is_root():
    return os.geteuid() == 0


def have_tools():
    return shutil.which("ip") is not None and shutil.which("ethtool") is not None


class Lab(object):
    """A network namespace `plg<pid>` holding one veth pair: `vif7.0` (named as
    a dom0 netback device) and `plgpeer0`. Nothing is created in the root
    namespace: the pair is made inside the namespace."""

    VIF = "vif7.0"
    PEER = "plgpeer0"

    def __init__(self):
        self.netns = "plg%d" % os.getpid()

    def ip(self, *args):
        subprocess.run(["ip", "-n", self.netns] + list(args), check=True, capture_output=True)

    def create(self):
        subprocess.run(["ip", "netns", "add", self.netns], check=True, capture_output=True)
        self.ip("link", "set", "lo", "up")  # for servers the tests start inside
        self.ip("link", "add", self.VIF, "type", "veth", "peer", "name", self.PEER)
        self.ip("link", "set", self.VIF, "up")
        self.ip("link", "set", self.PEER, "up")

    def destroy(self):
        subprocess.run(["ip", "netns", "del", self.netns], capture_output=True)

    def ethtool_k(self, ifname):
        """`ethtool -k` inside the namespace: {feature: (on, fixed)}."""
        out = subprocess.run(
            ["ip", "netns", "exec", self.netns, "ethtool", "-k", ifname],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        return parse_ethtool_k(out)


# ethtool -k prints some features under their legacy names (one line, no
# sub-item) and three legacy groups above their kernel-named members.
ETHTOOL_LEGACY_LINES = {
    "rx-checksumming": "rx-checksum",
    "generic-segmentation-offload": "tx-generic-segmentation",
    "generic-receive-offload": "rx-gro",
    "large-receive-offload": "rx-lro",
    "rx-vlan-offload": "rx-vlan-hw-parse",
    "tx-vlan-offload": "tx-vlan-hw-insert",
    "ntuple-filters": "rx-ntuple-filter",
    "receive-hashing": "rx-hashing",
}
ETHTOOL_GROUP_LINES = ("tx-checksumming", "scatter-gather", "tcp-segmentation-offload")


def parse_ethtool_k(text):
    """`ethtool -k` output as {kernel feature name: (on, fixed)}."""
    features = {}
    for line in text.splitlines()[1:]:
        if ":" not in line:
            continue
        name, rest = line.split(":", 1)
        name = name.strip()
        words = rest.split()
        if not words or words[0] not in ("on", "off") or name in ETHTOOL_GROUP_LINES:
            continue
        features[ETHTOOL_LEGACY_LINES.get(name, name)] = (words[0] == "on", "[fixed]" in rest)
    return features


@pytest.fixture
def lab():
    if not is_root():
        pytest.skip("SKIP: needs root for a network namespace")
    if not have_tools():
        pytest.skip("SKIP: needs ip and ethtool")
    lab = Lab()
    lab.destroy()  # a leftover from a killed run with the same pid
    try:
        lab.create()
        yield lab
    finally:
        lab.destroy()


# ------------------------------------------------------------ capture files


def _checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return (~total) & 0xFFFF


def udp_frame(payload, corrupt=False):
    """Ethernet + IPv4 + UDP with correct checksums, or a wrong UDP checksum."""
    src, dst = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])
    udp_len = 8 + len(payload)
    udp = struct.pack("!HHHH", 40000, 9, udp_len, 0) + payload
    pseudo = src + dst + struct.pack("!BBH", 0, 17, udp_len)
    csum = _checksum(pseudo + udp) or 0xFFFF
    if corrupt:
        csum ^= 0x5A5A
    udp = udp[:6] + struct.pack("!H", csum) + udp[8:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, 1, 0, 64, 17, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:]
    eth = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00"
    return eth + ip + udp


def write_pcap(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, frame in enumerate(frames):
            f.write(struct.pack("<IIII", 1700000000 + i, 0, len(frame), len(frame)))
            f.write(frame)


@pytest.fixture
def capture_file(tmp_path):
    """A pcap with two correct UDP packets and one really corrupted one."""
    path = str(tmp_path / "three.pcap")
    write_pcap(
        path,
        [udp_frame(b"hello"), udp_frame(b"world!", corrupt=True), udp_frame(b"again")],
    )
    return path
