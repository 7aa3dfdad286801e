"""A virtual PMU per guest (issue 14; el2/pmu.h), on both CPU models under
-icount shift=0, where the PMU counts retired instructions exactly.

tests/target/guests/pmuspy: a spy counts across its own yields and null
hypercalls with every filter asking for EL2 (NSH) as well; a victim runs a
secret-dependent number of hypercalls and EL1 loop iterations between its
yields; a meddler resets, disables and reprograms the counters and sets
every overflow flag and interrupt enable between its yields. The systems
pmuspy_a and pmuspy_b differ only in the victim's secret."""
import re

import pytest
from conftest import expect_clean, guest_lines, summary

COUNTS = re.compile(r"spy: (hypercall|yield) total (\d+)\.\.(\d+) "
                    r"el2\+ (\d+)\.\.(\d+) el2 (\d+)\.\.(\d+) "
                    r"el1 (\d+)\.\.(\d+)$")


def spy_counts(result):
    """{"hypercall"|"yield": (total, el2+, el2, el1) as (least, most)}."""
    out = {}
    for line in guest_lines(result, "spy"):
        m = COUNTS.match(line)
        if m:
            v = [int(x) for x in m.groups()[1:]]
            out[m.group(1)] = list(zip(v[0::2], v[1::2]))
    assert set(out) == {"hypercall", "yield"}, result.tail()
    return out


@pytest.fixture
def spied(boot):
    runs = {name: boot.system(name) for name in ("pmuspy_a", "pmuspy_b")}
    for r in runs.values():
        expect_clean(r)
        assert all(row.status == 0 for row in summary(r).values()), \
            summary(r)
    return runs


def test_the_spy_recovers_nothing_of_the_secret(spied):
    """The spy's lines are the same whatever the victim's secret, and every
    yield counts exactly what a null hypercall does (its own instructions
    around the HVC), none of them at EL2."""
    a, b = (guest_lines(spied[n], "spy") for n in ("pmuspy_a", "pmuspy_b"))
    assert a == b, f"secret 0xaaaaaaaa:\n{a}\nsecret 0x55555555:\n{b}"
    counts = spy_counts(spied["pmuspy_a"])
    for least, most in counts["yield"] + counts["hypercall"]:
        assert least == most, counts
    assert counts["yield"] == counts["hypercall"], counts
    total, el2_and_more, el2, el1 = counts["yield"]
    assert el2 == (0, 0), counts
    assert total == el2_and_more and total[0] > 0, counts


def test_the_victim_counts_itself_whatever_others_do(spied, boot):
    """The victim's own EL1 count depends on its secret (its PMU works),
    and is the same with the meddler resetting and disabling counters
    between its yields (pmuspy_a) as without it (pmuspy_system)."""
    def victim_count(r):
        done = [l for l in guest_lines(r, "victim") if "victim: done" in l]
        assert done, r.tail()
        return int(re.search(r"done, (\d+) instructions", done[0]).group(1))

    a, b = victim_count(spied["pmuspy_a"]), victim_count(spied["pmuspy_b"])
    assert a != b and a > 0 and b > 0
    quiet = boot.system("pmuspy_system")
    expect_clean(quiet)
    assert victim_count(quiet) == a


def test_the_meddler_reaches_only_its_own_pmu(spied):
    """Its writes stay its own: it reads back its overflow flags (the
    cycle counter's and its event counters') and a PMCCFILTR_EL0 without
    the NSH it wrote."""
    line = [l for l in guest_lines(spied["pmuspy_a"], "meddler")
            if l.startswith("meddler:")]
    assert line, spied["pmuspy_a"].tail()
    m = re.search(r"overflow flags (0x[0-9a-f]+), PMCCFILTR (0x[0-9a-f]+)",
                  line[0])
    assert int(m.group(1), 16) >> 31 == 1, line
    assert int(m.group(2), 16) == 0, line


def test_the_system_privilege_counts_el2_and_others(boot):
    """pmu = "system": the same spy sees EL2 in every hypercall and the
    victim's work across its yields: what the spy test would show if the
    PMU leaked (the bench guest's privilege, guests/bench.dts)."""
    r = boot.system("pmuspy_system")
    expect_clean(r)
    counts = spy_counts(r)
    total, _, el2, el1 = counts["hypercall"]
    assert el2[0] > 0 and total[0] > el1[0], counts
    assert counts["yield"][0][1] > counts["hypercall"][0][1], counts


def test_el0_access_is_each_guests_own(boot):
    """'allow' sets PMUSERENR_EL0.EN and its EL0 task reads the cycle
    counter; 'deny', running after it, never set it: its EL0 task is killed
    by the trap to its own EL1 (EC 0x18: 128 + 0x18), as on a CPU of its
    own."""
    r = boot.system("pmuspy_el0")
    expect_clean(r)
    assert "el0: PMUSERENR_EL0 0x1, the task exited with status 0" in \
        guest_lines(r, "allow"), r.tail()
    assert "el0: PMUSERENR_EL0 0x0, the task was killed with status 152" in \
        guest_lines(r, "deny"), r.tail()
