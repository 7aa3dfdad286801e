"""The library OS's stage-1 MMU on target, MMU on in every guest: the
stage1 guest (tests/target/guests/stage1) reports TAP lines for the switch,
W^X image, direct map, map/touch/unmap, and faults its own handler catches
(translation, read-only, WXN, PXN, PAN, Access flag, dirty state). Runs on
-cpu max (hardware AF/dirty, PAN, 16K) and cortex-a72 (none of them)."""
import re

from conftest import EXIT, expect_clean, guest_lines, no_leak, summary

TAP = re.compile(r"^(not )?ok (\d+) - (.*)$")
PLAN = re.compile(r"^1\.\.(\d+)$")
EXIT_DABT_CUR = 128 + 0x25


def tap(result, name):
    """(passed, failed, skipped, plan) of a guest's TAP lines."""
    lines = guest_lines(result, name)
    results, plan = [], None
    for l in lines:
        m = TAP.match(l)
        if m:
            results.append((m.group(1) is None, int(m.group(2)), m.group(3)))
        m = PLAN.match(l)
        if m:
            plan = int(m.group(1))
    failed = [r for r in results if not r[0]]
    assert not failed, f"{name}: {failed}\n" + "\n".join(lines)
    assert plan == len(results) and [r[1] for r in results] == \
        list(range(1, plan + 1)), "\n".join(lines)
    return results


def titles(results):
    return [t for _, _, t in results]


def has(results, prefix):
    return any(t.startswith(prefix) for t in titles(results))


def test_stage1_granules_and_fallbacks(boot):
    r = boot.system("stage1")
    expect_clean(r)
    rows = summary(r)
    assert set(rows) == {"s1-4k", "s1-64k", "s1-swaf", "s1-va39"}
    for row in rows.values():
        assert row.state == "exited" and row.status == 0, row
    want = {"s1-4k": ("4K", 48), "s1-64k": ("64K", 48),
            "s1-swaf": ("4K", 48), "s1-va39": ("64K", 39)}
    for name, (gran, bits) in want.items():
        res = tap(r, name)
        lines = guest_lines(r, name)
        assert f"mmu: granule {gran}, {bits}-bit VA, image at " \
            f"{'0xffff800000000000' if bits == 48 else '0xffffffc000000000'}" \
            in "\n".join(lines), lines
        for t in ("running in the TTBR1 half", "image text: RX",
                  "image rodata: R, XN", "image data: RW, XN",
                  "boot stack RW, its guard unmapped",
                  "unmap it: the next touch is a translation fault",
                  "write to a read-only page: permission fault",
                  "WXN: execute a writable+executable page",
                  "PXN: execute a non-executable page",
                  "PXN: EL1 executes an EL0-executable"):
            assert has(res, t), (name, t)
        hw = boot.cpu == "max" and name in ("s1-4k", "s1-64k")
        mode = "hardware" if hw else "software"
        assert has(res, f"Access flag ({mode})"), (name, titles(res))
        assert has(res, f"dirty state ({mode})"), (name, titles(res))
        stats = [l for l in lines if l.startswith("faults: ")]
        assert stats and ("AF fixed 0" in stats[0]) == hw, stats
        assert "unhandled 0" in stats[0], stats
        if boot.cpu == "max":
            assert has(res, "PAN: EL1 load from a user page")
            assert has(res, "PAN: set on exception entry")
        else:
            assert "pan: absent (ID_AA64MMFR1_EL1.PAN = 0)" in lines
            assert any("# SKIP FEAT_PAN absent" in t for t in titles(res))
    no_leak(r)


def test_stage1_16k_granule(boot):
    r = boot.system("stage1-16k")
    rows = summary(r)
    lines = guest_lines(r, "s1-16k")
    if boot.cpu == "max":
        expect_clean(r)
        assert rows["s1-16k"].status == 0
        tap(r, "s1-16k")
        assert any(l.startswith("mmu: granule 16K, 48-bit VA") for l in lines)
    else:
        assert rows["s1-16k"].status == EXIT["MMU"], rows
        assert "el1: cannot turn the MMU on (granule 16k): this CPU has no " \
            "16K stage-1 granule (ID_AA64MMFR0_EL1.TGran16 = 0)" in lines
        assert not any(TAP.match(l) for l in lines), "ran with 16K anyway"
    no_leak(r)


def test_stage1_unhandled_fault_is_reported_not_hung(boot):
    r = boot.system("stage1-unhandled")
    rows = summary(r)
    assert rows["s1-unhandled"].status == EXIT_DABT_CUR, rows
    lines = guest_lines(r, "s1-unhandled")
    text = "\n".join(lines)
    m = re.search(r"touching (0x[0-9a-f]+), unmapped", text)
    assert m, text
    va = int(m.group(1), 16)
    # The level is where the walk found nothing: 0 on a fresh half, or
    # deeper where libos keeps empty tables linked for reuse
    # (libos/mmu/pgtable.h, keep_empty).
    m = re.search(r"libos: unhandled stage-1 fault: translation fault, "
                  r"level (\d), write at 0x([0-9a-f]{16}) from EL1", text)
    assert m and int(m.group(2), 16) == va, text
    assert "  ELR 0xffff8" in text and "region: none" in text
    assert f"  walk 0x{va:016x} (TTBR1, ASID 0):" in lines, text
    assert any(re.match(rf"^    L{m.group(1)}\[ *\d+\] 0x0+ invalid$", l)
               for l in lines), text
    assert "still running" not in text
    assert "exiting with status 165" in lines
    no_leak(r)
