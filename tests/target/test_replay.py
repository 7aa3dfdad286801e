"""Exact replay (issue 17): the line the harness prints for a failing run
(`result.replay`: tools/run with the run's CPU model, -icount, -seed,
bootargs and a timeout scaled to the run) boots the same machine again,
and the console it prints is the original byte for byte. One failing run
of each seeded kind on target: fault injection (a seed on the command
line) and hypercall fuzzing (seeds in the manifest); and the host's seeded kind,
mem_random (tests/host/test_mem_random.c, EXO_MEM_SEED), failing for a
planted bug."""
import os
import re
import subprocess

from conftest import TOP, guest_lines, replay, summary, tool_module

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


# The host's seeded kind. A real bug makes it fail: the mutant below (a
# read-only share mapped writable, tests/mutants/mutants.txt) is planted in
# a copy of its file, compiled with the host tests' flags and linked with
# their other objects. The failing run prints the seed; the replay of that
# seed alone prints exactly the failing run's console from that seed on.
MEM_RANDOM_MUTANT = "mem-share-r-is-writable"
MEM_RANDOM_TEST = "mem_random/share_lend_donate_keep_the_invariant"
SEED_LINE = re.compile(r"^mem random: seed (\d+) \(EXO_MEM_SEED=\1 replays\)$",
                       re.M)


def host_link_info():
    subprocess.run(["make", "-s", "build/host/exo-host-tests"], cwd=TOP,
                   check=True)
    out = subprocess.run(["make", "-s", "--no-print-directory",
                          "host-link-info"], cwd=TOP, check=True,
                         capture_output=True, text=True).stdout
    return {k: v.split() for k, v in
            (line.split(": ", 1) for line in out.splitlines())}


def host_tests_with_mutant(name, tmp_path):
    mutants = {m.name: m for m in tool_module("mutants").parse(
        open(os.path.join(TOP, "tests", "mutants", "mutants.txt")).read())}
    m = mutants[name]
    source = open(os.path.join(TOP, m.file)).read()
    assert source.count(m.find) == 1, f"mutant {name} no longer applies"
    planted = tmp_path / os.path.basename(m.file)
    planted.write_text(source.replace(m.find, m.replace))
    info = host_link_info()
    obj = tmp_path / "planted.o"
    subprocess.run(info["cc"] + info["cflags"] + ["-c", str(planted), "-o",
                                                  str(obj)],
                   cwd=TOP, check=True)
    original = f"build/host/{m.file}.o"
    assert original in info["objs"], original
    binary = tmp_path / "exo-host-tests"
    objs = [o for o in info["objs"] if o != original] + [str(obj)]
    subprocess.run(info["cc"] + info["ldflags"] + ["-o", str(binary)] + objs
                   + info["libs"], cwd=TOP, check=True)
    return binary


def run_mem_random(binary, seed=None):
    env = dict(os.environ)
    env.pop("EXO_MEM_SEED", None)
    if seed is not None:
        env["EXO_MEM_SEED"] = seed
    r = subprocess.run([str(binary), "--filter", MEM_RANDOM_TEST], env=env,
                       capture_output=True, text=True, timeout=600)
    return r.returncode, r.stdout + r.stderr


def test_a_failing_mem_random_run_replays_byte_for_byte(tmp_path):
    binary = host_tests_with_mutant(MEM_RANDOM_MUTANT, tmp_path)
    status, failed = run_mem_random(binary)
    assert status != 0, failed
    assert "PANIC: stage-2 invariant" in failed, failed
    seeds = SEED_LINE.findall(failed)
    assert seeds, failed
    stopped = f"EL2 stopped at seed {seeds[-1]} step "
    assert stopped in failed, failed
    status, replayed = run_mem_random(binary, seeds[-1])
    assert status != 0, replayed
    # The replay is the failing run from its last seed's first line on.
    start = failed.index(f"mem random: seed {seeds[-1]} (")
    assert replayed == failed[start:], (failed[start:], replayed)
