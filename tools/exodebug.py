"""Owns: `make debug`'s session for tools/run --gdb: which guest the user
debugs and its VMID, the gdb script that attaches with EL2's and that
guest's symbols and restricts every breakpoint to it, the bridge between
gdb and QEMU's stub, and QEMU's lifetime (it ends with gdb or tools/run).
Never: boots QEMU or reads its console (tools/run), parses manifests beyond
the guest list (tools/exosym.py).

Why a guard: every guest's image runs at the same VA once its MMU is on, and
QEMU's breakpoints match the VA only, so `break main` alone stops in every
guest that runs main. EL2 gives guest n of the manifest (in order, from 1)
VM id n (el2/system.c FIRST_VM_ID; a restart keeps it), and its VMID is its
VM id while guests do not outnumber the CPU's VMIDs (el2/vmid.c: 65,535
with 16 bits, 255 with 8; beyond that VMIDs are recycled and this guard
does not hold); it runs it with that VMID in VTTBR_EL2[63:48], which QEMU
7.2's stub exposes as a register: a breakpoint whose condition checks it
stops in that guest only."""
import ctypes
import os
import selectors
import signal
import socket
import threading

# Where libos maps a guest's image once its MMU is on (libos/mm/boot.c: the
# top quarter of the 48-bit TTBR1 half).
GUEST_IMAGE_VA = 0xffff800000000000
FIRST_VM_ID = 1              # el2/system.c: VMIDs follow manifest order
VTTBR_VMID_SHIFT = 48        # VTTBR_EL2.VMID, bits 63:48 (55:48 if 8-bit)
PSTATE_EL_SHIFT = 2          # $cpsr bits 3:2 hold the exception level
EL2 = 2
CHUNK = 65536
PR_SET_PDEATHSIG = 1         # <linux/prctl.h>
LIBC = ctypes.CDLL(None)     # loaded here, not in the forked child


class DebugError(Exception):
    """A request tools/run refuses (unknown guest, unreadable manifest)."""


def guest_vmid(names, guest, system):
    """The VMID EL2 gives `guest`, from the manifest's guest names in order."""
    if guest not in names:
        raise DebugError(f"system '{system}' has no guest '{guest}'; its "
                         f"guests: {', '.join(names)} (GUEST=<name>)")
    return FIRST_VM_ID + names.index(guest)


def guard(vmid):
    """The condition every breakpoint carries: stop in EL2 (shared by every
    guest), or at EL1/EL0 only while guest `vmid`'s stage 2 is live."""
    return (f"((($cpsr >> {PSTATE_EL_SHIFT}) & 3) == {EL2} || "
            f"$VTTBR_EL2 >> {VTTBR_VMID_SHIFT} == {vmid})")


# The Python half of the script: gdb runs it after `target remote`, so
# $VTTBR_EL2 is parsed as the stub's register, not a convenience variable.
SCRIPT_PYTHON = '''\
python
import gdb

EXO_GUARD = {guard!r}
EXO_GUESTS = {guests!r}


def exo_check_stub():
    vttbr = gdb.parse_and_eval("$VTTBR_EL2")
    if vttbr.type.code == gdb.TYPE_CODE_VOID:
        raise gdb.GdbError("exo: this QEMU's gdb stub does not show "
                           "VTTBR_EL2, so breakpoints cannot be limited to "
                           "one guest (QEMU 7.2 or newer shows it)")


def exo_guard(bp):
    """Every user breakpoint stops only in EL2 or in this guest; a
    condition the user gives is kept after the guard."""
    if bp.number < 1 or not bp.is_valid():
        return
    cond = bp.condition
    if cond is not None and cond.startswith(EXO_GUARD):
        return
    bp.condition = EXO_GUARD if cond is None else \\
        "%s && (%s)" % (EXO_GUARD, cond)


def exo_where(event):
    """Says whose code the CPU was running when gdb stopped."""
    try:
        el = (int(gdb.parse_and_eval("$cpsr")) >> {el_shift}) & 3
        vmid = int(gdb.parse_and_eval("$VTTBR_EL2")) >> {vmid_shift}
    except gdb.error:
        return
    if el == {el2}:
        print("[exo] stopped in EL2 (VTTBR_EL2 VMID %d)" % vmid)
    else:
        print("[exo] stopped in guest '%s' (VMID %d, EL%d)"
              % (EXO_GUESTS.get(vmid, "?"), vmid, el))


exo_check_stub()
gdb.events.breakpoint_created.connect(exo_guard)
gdb.events.breakpoint_modified.connect(exo_guard)
gdb.events.stop.connect(exo_where)
end
# gdb 13's Python does not see dprintfs: guard each one as it is made.
define hookpost-dprintf
condition $bpnum {guard}
end
'''


def write_script(path, el2_elf, guest_elf, guest, names, port):
    """Writes the gdb script `gdb -x path` runs: symbols, target, guard.
    `guest` is one of `names`, the manifest's guests in order."""
    vmid = FIRST_VM_ID + names.index(guest)
    guests = {FIRST_VM_ID + i: n for i, n in enumerate(names)}
    text = (
        f"# Written by tools/run --gdb (tools/exodebug.py); "
        f"docs/debugging.md.\n"
        f"# EL2's and guest '{guest}''s symbols; every breakpoint stops in "
        f"EL2 or in '{guest}' (VMID {vmid}) only.\n"
        f"file {os.path.abspath(el2_elf)}\n"
        f"add-symbol-file {os.path.abspath(guest_elf)} "
        f"-o {GUEST_IMAGE_VA:#x}\n"
        f"target remote 127.0.0.1:{port}\n"
        + SCRIPT_PYTHON.format(guard=guard(vmid), guests=guests,
                               el_shift=PSTATE_EL_SHIFT,
                               vmid_shift=VTTBR_VMID_SHIFT, el2=EL2))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def die_with_parent():
    """preexec_fn for QEMU: the kernel kills it when tools/run dies, however
    tools/run ends (Ctrl-C, SIGTERM from make, SIGKILL)."""
    parent = os.getppid()
    if LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        os._exit(127)
    if os.getppid() != parent:   # tools/run died before prctl took effect
        os._exit(127)


class Bridge:
    """gdb's TCP connection <-> QEMU's stub, one end of a socketpair that
    QEMU gets as an already connected chardev. tools/run listens on PORT
    itself (0: any free port), so the port is known before QEMU starts, a
    busy port fails at once, and the end of gdb's connection (quit, detach,
    gdb killed) is seen here: the session ends then."""

    def __init__(self, port):
        self.listener = socket.create_server(("127.0.0.1", port))
        self.port = self.listener.getsockname()[1]
        self.ours, self.qemu_end = socket.socketpair()
        self.gdb_left = threading.Event()

    def qemu_args(self):
        return ["-S", "-chardev",
                f"socket,id=exo-gdb,fd={self.qemu_end.fileno()}",
                "-gdb", "chardev:exo-gdb"]

    def pass_fds(self):
        return (self.qemu_end.fileno(),)

    def start(self, on_gdb_left):
        """After QEMU has started: serve one gdb connection in a thread;
        on_gdb_left() runs when gdb goes away."""
        self.qemu_end.close()
        threading.Thread(target=self._serve, args=(on_gdb_left,),
                         daemon=True).start()

    def _serve(self, on_gdb_left):
        conn, _ = self.listener.accept()
        self.listener.close()        # one gdb per session
        with conn, self.ours:
            if self._forward(conn):
                self.gdb_left.set()
                on_gdb_left()

    def _forward(self, conn):
        """Copies bytes both ways; True when gdb closed first."""
        sel = selectors.DefaultSelector()
        sel.register(conn, selectors.EVENT_READ, self.ours)
        sel.register(self.ours, selectors.EVENT_READ, conn)
        while True:
            for key, _ in sel.select():
                src, dst = key.fileobj, key.data
                try:
                    data = src.recv(CHUNK)
                except OSError:
                    data = b""
                if not data:
                    return src is conn
                try:
                    dst.sendall(data)
                except OSError:
                    return dst is conn
