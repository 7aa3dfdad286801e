/*
 * Facts of QEMU's `virt` machine that hold before the DTB is read: where the
 * DTB is and the PL011 used as an early console (as Linux's earlycon) so a
 * broken DTB can still be reported.
 */
#ifndef EXO_ARCH_VIRT_H
#define EXO_ARCH_VIRT_H

#define VIRT_RAM_BASE 0x40000000UL
#define VIRT_DTB_ADDR VIRT_RAM_BASE      /* QEMU places it here for ELF kernels */
#define VIRT_EARLY_PL011_BASE 0x09000000UL

#endif
