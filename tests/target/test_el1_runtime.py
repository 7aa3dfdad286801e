"""el1, the guest runtime, under the real EL2: relocation wherever EL2
loads a guest, argv and /chosen, handled traps that keep general and FP/SIMD
registers, reports of unhandled exceptions and panics with their exit
statuses (el1/exit_asm.h)."""
import re

from conftest import EXIT, failed_guests, guest_lines, no_leak, summary


def test_el1_paths(boot):
    r = boot.system("el1")
    rows = summary(r)
    hello = guest_lines(r, "hello")
    assert hello[:4] == ["hello from hello", "argc: 3", "argv[1]: one",
                         "argv[2]: two three"], hello
    assert "heap policy: tlsf" in hello and "granule: 4k" in hello
    assert rows["hello"].status == 0

    assert "brk handled 1 time(s), x0 changed yes, d0 kept" in \
        "\n".join(guest_lines(r, "handled"))
    assert rows["handled"].status == 0

    for name, ec, what in (("udf", 0x00, "unknown reason (undefined instruction)"),
                           ("brk", 0x3c, "BRK (AArch64)")):
        out = "\n".join(guest_lines(r, name))
        assert "unexpected exception: synchronous from EL1 with SP_EL1" in out
        assert f"EC 0x{ec:02x} {what}" in out, out
        assert re.search(r"ELR 0x[0-9a-f]{16} \(image \+0x[0-9a-f]+\)", out)
        assert re.search(r"x30 0x[0-9a-f]{16}", out)
        assert rows[name].status == 128 + ec, rows[name]

    # A synchronous external abort from EL1 (el1/vectors.S,
    # el1_abort_light): the hook's answer and every register come back,
    # the hook runs nested once like any class handler, and an exception
    # inside it does not lose the abort's ELR and SPSR.
    assert "external abort handled 1 time(s), kind other, depth 1, " \
        "nested brk 1, 0 register(s) wrong" in \
        "\n".join(guest_lines(r, "extabt"))
    assert rows["extabt"].status == 0
    # Declined: the report, with the registers as they were at the abort.
    out = "\n".join(guest_lines(r, "extabt2"))
    assert "libos: unhandled stage-1 fault: other fault" in out, out
    assert "unexpected exception: synchronous from EL1 with SP_EL1" in out
    assert "EC 0x25" in out, out
    for n in list(range(1, 18)) + list(range(19, 29)):
        assert re.search(rf"x{n:<2} 0x{0x5a00 + n:016x}", out), (n, out)
    assert rows["extabt2"].status == 128 + 0x25, rows["extabt2"]

    assert "PANIC: asked to panic" in "\n".join(guest_lines(r, "panic"))
    assert rows["panic"].status == EXIT["PANIC"]
    assert failed_guests(r)["panic"] == \
        f"exit status {EXIT['PANIC']}: panic (the PANIC line says why)"

    # The same image at two places in memory: the same checksum.
    sums = [re.search(r"checksum (0x[0-9a-f]+)", "\n".join(guest_lines(r, g)))
            for g in ("counter", "counter2")]
    assert all(sums) and sums[0].group(1) == sums[1].group(1)
    no_leak(r)
