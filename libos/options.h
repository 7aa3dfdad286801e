/*
 * The options libos reads from a guest's arguments, in one list, and the
 * check that every "--" argument is an option someone reads: libos's or
 * one the guest declared (el1's EL1_GUEST_OPTIONS). The parts of libos
 * that read an option name it by its macro here.
 */
#ifndef EXO_LIBOS_OPTIONS_H
#define EXO_LIBOS_OPTIONS_H

#define LIBOS_OPT_STATS "--stats"
#define LIBOS_OPT_PTDUMP "--ptdump"
#define LIBOS_OPT_HIGH_WATER "--pool-high-water="
#define LIBOS_OPT_SW_AF "--sw-af"
#define LIBOS_OPT_VA_BITS_39 "--va-bits=39"
#define LIBOS_OPT_VA_BITS_48 "--va-bits=48"
#define LIBOS_OPT_ASID_BITS "--asid-bits="

/* Every option libos reads, NULL-terminated. A name ending in '=' takes a
 * value after it; any other name is matched whole. */
extern const char *const libos_options[];

/* The first argument after argv[0] that starts with "--" and is neither
 * in libos_options nor in guest (NULL-terminated, may be NULL: the guest
 * reads no options); NULL when there is none. */
const char *libos_options_unknown(int argc, char *const *argv,
				  const char *const *guest);

/* "libos: unknown option '...' in args; known: ..." and the guest's, in
 * lines short enough for EL2's console. */
void libos_options_report_unknown(const char *arg, const char *const *guest);

#endif
