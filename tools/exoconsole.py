"""What EL2's console says about the guests, for tools/run and the tests:
which guests started ("boot: guest 'x' is vmid N ..."), which ended and how
("guest 'x' exited with status N", "... torn down: why", "error: guest 'x'
not started"), the summary table and the lines under it saying why each
failed guest failed. Reads console lines only; never boots anything."""
import re

STARTED = re.compile(r"^\[el2\] boot: guest '([^']+)' is vmid (\d+)")
EXITED = re.compile(r"^\[el2\] guest '([^']+)' exited with status (-?\d+)")
TORN_DOWN = re.compile(r"^\[el2\] guest '([^']+)' torn down: (.*)$")
NOT_STARTED = re.compile(r"^\[el2\] error: guest '([^']+)' not started")
GUEST_LINE = re.compile(r"^\[([^\]]+)\] (.*)$")
SUMMARY = "[el2] summary:"
FAILED_BLOCK = "[el2] failed guests:"
FAILED_LINE = re.compile(r"^\[el2\]   (\S+): (.*)$")
# "see 'error'/'reason' lines": the lines that say what went wrong.
PROBLEM = re.compile(r"^\[el2\] (error: |PANIC|boot failed)|"
                     r"^\[el2\] +reason: ")


def _lines(lines):
    return [l.rstrip("\r\n") for l in lines]


def started(lines):
    """Guests EL2 started, in boot order."""
    return [m.group(1) for m in map(STARTED.match, _lines(lines)) if m]


def ended(lines):
    """Guests that ended, by name: "exited with status N" or "torn down:
    why" (the last word EL2 said of each)."""
    out = {}
    for line in _lines(lines):
        m = EXITED.match(line)
        if m:
            out[m.group(1)] = f"exited with status {m.group(2)}"
            continue
        m = TORN_DOWN.match(line)
        if m:
            out[m.group(1)] = f"torn down: {m.group(2)}"
    return out


def still_running(lines):
    """Guests that started and have not ended, in boot order."""
    gone = ended(lines)
    return [g for g in started(lines) if g not in gone]


def last_line(lines, guest):
    """The last line the guest printed, without its prefix; None if none."""
    last = None
    for line in _lines(lines):
        m = GUEST_LINE.match(line)
        if m and m.group(1) == guest:
            last = m.group(2)
    return last


def summary_lines(lines):
    """The summary EL2 printed (from "summary:" to the verdict), or []."""
    lines = _lines(lines)
    if SUMMARY not in lines:
        return []
    out = []
    for line in lines[lines.index(SUMMARY):]:
        out.append(line)
        if line.startswith("[el2] result: "):
            break
    return out


def failed_guests(lines):
    """The lines under the summary table saying why each failed guest
    failed, by name: "exit status 165: unhandled data abort ...",
    "killed: <reason>"."""
    out, inside = {}, False
    for line in _lines(lines):
        if line == FAILED_BLOCK:
            inside = True
            continue
        m = FAILED_LINE.match(line) if inside else None
        if not m:
            inside = False
            continue
        out[m.group(1)] = m.group(2)
    return out


def problem_lines(lines):
    """EL2's lines that say what went wrong: errors, panics, reasons."""
    return [l for l in _lines(lines) if PROBLEM.match(l)]
