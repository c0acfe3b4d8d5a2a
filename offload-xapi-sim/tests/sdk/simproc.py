"""One `cargo xtask xapi-sim` process for any Python test suite of the
workspace (the SDK fidelity tests here, offload-py's module and plugin tests).

The simulator binary comes from $XAPI_SIM_BIN (the xtask binary; the test
stages of `cargo xtask test` set it), else `cargo run -p xtask`. It needs
neither pytest nor XenAPI, so every suite can import it.
"""

import os
import pathlib
import shutil
import subprocess
import tempfile
import threading
import time

REPO = pathlib.Path(__file__).resolve().parents[3]
LAB = REPO / "offload-xapi-sim" / "pools" / "lab.json"
USER = "root"
PASSWORD = "secret"


def command():
    exe = os.environ.get("XAPI_SIM_BIN")
    if exe:
        return [os.path.abspath(exe), "xapi-sim"]
    return ["cargo", "run", "-q", "-p", "xtask", "--", "xapi-sim"]


def socket_dir(prefix):
    # XenAPI's UDSTransport turns "_" in the host part into "/", so the path
    # must not contain "_" itself.
    while True:
        path = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
        if "_" not in path:
            return path
        shutil.rmtree(path)


class SimProcess(object):
    """A simulator on 127.0.0.1 until `stop()`; `lines` is its stdout so far.

    Options: `socket=True` adds the unix socket (`self.socket`); `netns` runs
    it (and so the plugins it starts) inside that namespace; `env` replaces
    the environment it starts with; `prefix` names its temporary directory."""

    def __init__(self, *args, **options):
        self.dir = socket_dir(options.get("prefix", "xapisim"))
        ready = os.path.join(self.dir, "ready")
        argv = command() + ["--listen", "127.0.0.1:0", "--ready-file", ready,
                            "--exit-on-stdin-eof", "--user", USER, "--password", PASSWORD]
        # socket=True: also the unix socket, in this process's own directory.
        self.socket = os.path.join(self.dir, "xapi") if options.get("socket") else None
        if self.socket:
            argv += ["--socket", self.socket]
        argv += list(args)
        netns = options.get("netns")
        if netns is not None:
            argv = ["ip", "netns", "exec", netns] + argv
        self.netns = netns
        self.proc = subprocess.Popen(argv, cwd=str(REPO), env=options.get("env"),
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     universal_newlines=True)
        self.lines = []
        self._reader = threading.Thread(target=self._read)
        self._reader.daemon = True
        self._reader.start()
        deadline = time.monotonic() + options.get("start_timeout", 300)
        while not os.path.exists(ready):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the simulator did not start: %r" % self.lines)
            time.sleep(0.01)
        with open(ready) as f:
            self.url = f.read().strip()
        # Every line printed before the ready file, so that callers can read
        # them at once (the reader thread may lag behind the file).
        expected = ["listening on "]
        for flag, prefix in (("--tls", "fingerprint sha256 "),
                             ("--slave-listen", "member listening on "),
                             ("--socket", "socket ")):
            if flag in argv:
                expected.append(prefix)
        while not all(self.line_value(prefix) for prefix in expected):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                break
            time.sleep(0.01)

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def line_value(self, prefix):
        for line in list(self.lines):
            if line.startswith(prefix):
                return line[len(prefix):].strip()
        return None

    def fingerprint(self):
        """The TLS certificate's SHA-256 (with `--tls`), else None."""
        return self.line_value("fingerprint sha256 ")

    def stop(self):
        """Ends the simulator (stdin EOF) and returns its stdout lines."""
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise
        self._reader.join(timeout=5)
        shutil.rmtree(self.dir, ignore_errors=True)
        return self.lines
