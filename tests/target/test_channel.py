"""libos/chan (issue 5): a producer streams 4 MiB of seeded pseudo-random
data to a consumer through a ring in shared frames, with NOTIFY/WAIT; both
checksums match, the consumer checks every byte, nothing leaks. Then a
consumer whose producer never comes does not hang: it sees the producer
end and returns."""
import re

from conftest import guest_lines, no_leak, summary

SUM = re.compile(r"(sent|received) (\d+) bytes, checksum (0x[0-9a-f]+)")


def checksums(r, guest):
    for line in guest_lines(r, guest):
        m = SUM.search(line)
        if m:
            return int(m.group(2)), m.group(3)
    raise AssertionError(f"no checksum from {guest}:\n{r.tail()}")


def test_channel_moves_4_mib_with_matching_checksums(boot):
    r = boot.system("channel")
    rows = summary(r)
    for g in ("producer", "consumer"):
        assert rows[g].state == "exited" and rows[g].status == 0, rows[g]
        assert rows[g].violations == 0, rows[g]
    sent = checksums(r, "producer")
    got = checksums(r, "consumer")
    assert sent == got and sent[0] == 4 << 20, (sent, got)
    assert any("0 bytes differ" in l for l in guest_lines(r, "consumer"))
    no_leak(r)


def test_consumer_does_not_hang_when_the_producer_ends(boot):
    r = boot.system("chan_orphan")
    rows = summary(r)
    assert rows["orphan"].state == "exited", rows["orphan"]
    assert any("the peer has ended" in l for l in guest_lines(r, "orphan")), \
        r.tail()
    no_leak(r)
