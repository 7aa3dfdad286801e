/*
 * Backtraces from the frame-pointer chain (x29; every layer is built with
 * -fno-omit-frame-pointer). One line per frame, "  #N 0x<pc>", with
 * " (image +0x<off>)" when an image base is set (EL1 images are PIE at a
 * run-time VA; tools/symbolize turns both forms into function:line).
 */
#ifndef EXO_LIB_BACKTRACE_H
#define EXO_LIB_BACKTRACE_H

#include <stdint.h>

#define BACKTRACE_MAX_FRAMES 24
/* Frame records are trusted only this far above the first one. */
#define BACKTRACE_STACK_SPAN (64 * 1024)

/* EL1: the run-time address of the image's first byte; EL2 leaves it 0. */
void backtrace_set_image(uint64_t image_start);
/* pc (0: none) as frame #0, then the return address of each frame record
 * from fp up. Stops at a null, misaligned, decreasing or far record. */
void backtrace_print(uint64_t pc, uint64_t fp);

#endif
