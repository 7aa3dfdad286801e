"""Exact replay (issue 17): the line the harness prints for a failing run
(`result.replay`: tools/run with the run's CPU model, -icount, -seed,
bootargs and a timeout scaled to the run) boots the same machine again,
and the console it prints is the original byte for byte. One failing run
of each seeded kind on target: fault injection (a seed on the command
line) and hypercall fuzzing (seeds in the manifest). The host's seeded
kind, mem_random, is tests/host/test_mem_random.c (EXO_MEM_SEED)."""
from conftest import guest_lines, replay, summary

FAULT_SEED = "0x5eed0f17"


def test_a_failing_fault_injection_run_replays_byte_for_byte(boot, tmp_path):
    r = boot.system("faults", append=f"exo.fault-seed={FAULT_SEED}",
                    timeout=60)
    assert r.halt_status() == 1, r.tail()         # faulty guests failed
    assert any("injected: flipped bit" in l for l in r.lines), r.tail()
    assert f"--append exo.fault-seed={FAULT_SEED}" in r.replay
    assert replay(r, tmp_path) == r.output, r.replay


def test_a_failing_hvcfuzz_run_replays_byte_for_byte(boot, tmp_path):
    r = boot.system("hvcfuzz_replay")
    rows = summary(r)
    assert rows["fuzz1"].state == "killed", rows    # its CPU limit, mid-run
    assert not any("calls, 0 outside the ABI" in l
                   for l in guest_lines(r, "fuzz1")), r.tail()
    assert any("1000 calls, 0 outside the ABI" in l
               for l in guest_lines(r, "fuzz2")), r.tail()
    assert r.halt_status() == 1, r.tail()
    assert replay(r, tmp_path) == r.output, r.replay
