"""seed_procedure.py (the peer of `cargo xtask compare xapi`) reaches the seed's end state."""

import pathlib
import subprocess
import sys

from conftest import PASSWORD, USER, Sim

SCRIPT = pathlib.Path(__file__).with_name("seed_procedure.py")
SIX = ["ethtool-gso", "ethtool-ufo", "ethtool-tso", "ethtool-sg", "ethtool-tx", "ethtool-rx"]


def run(sim, *extra):
    out = subprocess.run(
        [sys.executable, str(SCRIPT), "--url", sim.url, "--user", USER, "--password", PASSWORD, *extra],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    last = out.stdout.strip().splitlines()[-1]
    fields = dict(part.split("=") for part in last.split())
    return int(fields["calls"]), float(fields["seconds"])


def test_seed_procedure_end_state_and_call_count():
    sim = Sim("--hosts", "2", "--pifs-per-host", "2", "--vms", "6", "--vifs-per-vm", "2")
    try:
        calls, _ = run(sim, "--restart")
        state = sim.state()
        assert calls == state["total_calls"]
        assert all(all(p["other_config"].get(k) == "off" for k in SIX) for p in state["pifs"])
        vms = {v["ref"]: v for v in state["vms"]}
        guests = [v for v in state["vifs"] if not vms[v["owner"]]["is_control_domain"]]
        assert len(guests) == 12
        assert all(all(v["other_config"].get(k) == "off" for k in SIX) for v in guests)
        # PIF keys wait for a plug; VIFs of running VMs were rebooted into the new keys.
        assert all(p["applied"] == {} for p in state["pifs"])
        for vif in guests:
            if vms[vif["owner"]]["power_state"] == "Running":
                assert vif["applied"] == {k[len("ethtool-"):]: False for k in SIX}
            else:
                assert vif["applied"] is None
        # Per VIF: six param-sets of login + get_by_uuid + get_other_config + add + logout.
        assert state["calls"]["VIF.add_to_other_config"] == 12 * 6
        assert state["calls"]["session.login_with_password"] == state["calls"]["session.logout"]
    finally:
        sim.stop()


def test_seed_procedure_twice_removes_then_adds():
    sim = Sim("--vms", "2", "--vifs-per-vm", "1")
    try:
        run(sim)
        run(sim)
        calls = sim.state()["calls"]
        assert calls["VIF.remove_from_other_config"] == 2 * 6
        assert calls["PIF.remove_from_other_config"] == 2 * 6
    finally:
        sim.stop()
