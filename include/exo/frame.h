/*
 * The frame: the unit in which EL2 hands out, maps, charges and scrubs
 * physical memory, and in which every hypercall counts (x1 = PA must be
 * frame-aligned, x2 = count of frames). Owns: its size, defined once here;
 * every other constant for it (EL2's frame DB, libos's pool, the ELF
 * loader, guests) is derived from EXO_FRAME_SHIFT. Never: a translation
 * granule. Stage 1 is the guest's choice (4, 16 or 64 KiB,
 * include/arch/pte.h); stage 2 maps one frame per 4 KiB page and says so
 * with a static assert (el2/s2.c). Safe to include from assembly.
 */
#ifndef EXO_FRAME_H
#define EXO_FRAME_H

#define EXO_FRAME_SHIFT 12

#ifdef __ASSEMBLY__
#define EXO_FRAME_SIZE (1 << EXO_FRAME_SHIFT)
#else
#define EXO_FRAME_SIZE (1ul << EXO_FRAME_SHIFT) /* 4 KiB */
#endif
/* The bits of an address below its frame: a PA is frame-aligned when
 * (pa & EXO_FRAME_OFFSET_MASK) == 0. */
#define EXO_FRAME_OFFSET_MASK (EXO_FRAME_SIZE - 1)

#endif
