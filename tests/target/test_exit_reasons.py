"""Failures explain themselves: an option in args nobody reads stops the
guest with a message naming it and every known option, and a status of its
own the summary decodes; tools/run says which guests failed and why, points
at 'error'/'reason' lines only when EL2 printed some, and on --timeout
names the guest still running and suggests cpu-limit-ms. Runs on -cpu max
and cortex-a72."""
import os
import subprocess

from conftest import EXIT, TOP, build_dir, expect_clean, failed_guests, \
    guest_lines, no_leak, summary

RUN = os.path.join(TOP, "tools", "run")
# Short, then longer: a loaded machine may not reach EL2's boot lines in
# the first one; the assertions are on what tools/run says, not on time.
TIMEOUTS = (3, 10, 30)


def test_unknown_option_is_named_and_stops_the_guest(boot):
    r = boot.system("unknown_option")
    expect_clean(r, status=1)
    rows = summary(r)
    why = failed_guests(r)
    unknown = EXIT["UNKNOWN_OPTION"]
    for name, option in (("typo", "--opps=200"), ("stray", "--foo")):
        assert rows[name].state == "exited", rows
        assert rows[name].status == unknown, rows
        assert why[name] == f"exit status {unknown}: an option in args is " \
            "neither libos's nor the guest's", why
        text = "\n".join(guest_lines(r, name))
        assert f"libos: unknown option '{option}' in args; known: --stats " \
            "--ptdump --pool-high-water=N" in text, text
    typo = "\n".join(guest_lines(r, "typo"))
    assert "libos:   --seed=N --ops=N --burst=N (the guest's)" in typo, typo
    assert "heapwork:" not in typo, "main ran"
    stray = "\n".join(guest_lines(r, "stray"))
    assert "libos:   none of the guest's own" in stray, stray
    assert "hi from" not in stray, "main ran"
    assert rows["good"].state == "exited" and rows["good"].status == 0
    assert "good" not in why
    no_leak(r)


def run(cpu, system, timeout=60):
    pkg = os.path.join(build_dir(), "systems", system + ".pkg")
    return subprocess.run(
        [RUN, "--cpu", cpu, "--timeout", str(timeout), "--color", "never",
         "--pkg", pkg, os.path.join(build_dir(), "exo-el2.elf")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        timeout=timeout + 60)


def test_run_says_why_guests_failed_without_pointing_at_nothing(cpu):
    r = run(cpu, "unknown_option")
    assert r.returncode == 1, r.stdout
    unknown = EXIT["UNKNOWN_OPTION"]
    assert f"run: guest 'typo' failed: exit status {unknown}: an option in " \
        "args is neither libos's nor the guest's" in r.stdout, r.stdout
    assert "run: guest 'stray' failed: " in r.stdout, r.stdout
    assert "run: guest 'good'" not in r.stdout, r.stdout
    assert "'error'/'reason'" not in r.stdout, r.stdout


def test_run_points_at_reason_lines_when_there_are_some(cpu):
    r = run(cpu, "violation")
    assert r.returncode == 1, r.stdout
    assert "run: guest 'violator' failed: killed: stage-2 violation limit " \
        "reached" in r.stdout, r.stdout
    assert "run: see the 'error'/'reason' lines above" in r.stdout, r.stdout


def test_run_timeout_names_the_spinning_guest(cpu):
    for timeout in TIMEOUTS:
        r = run(cpu, "spin_forever", timeout)
        if "[el2] boot: guest 'spin'" in r.stdout:
            break
    assert r.returncode == 3, r.stdout
    assert "(--timeout); stopped it" in r.stdout, r.stdout
    assert "run: guest 'spin' was still running" in r.stdout, r.stdout
    assert "run: a guest that never exits: give 'spin'" in r.stdout, \
        r.stdout
    assert "cpu-limit-ms" in r.stdout, r.stdout
    # hello may or may not have finished in time; it is never said to have
    # failed, and the run never claims there are error lines.
    assert "failed" not in r.stdout.split("(--timeout)")[1], r.stdout
